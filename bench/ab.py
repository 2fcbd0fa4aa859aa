"""A/B of two revisions of the service in one run: ``python -m bench.ab --base REV``.

The working tree (B) and ``REV`` checked out in a temporary git worktree (A) are served
side by side by the same venv, over databases of the same private emulator, and driven
by single-POST passes that alternate A, B, A, B... so that the machine's drift hits both
alike. Prints throughput, p99 and the service's CPU per transfer of every pass, and the
medians. For the closing notes of performance work: what a change bought, measured.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys

from bench import cpu, harness, scenarios
from devtools.emulator import Emulator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the revision to compare against (A)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(harness.checkout(args.base))
        emulator = stack.enter_context(Emulator())
        roots = {f"A {args.base}": base, "B working tree": harness.ROOT}
        urls = {}
        for n, (name, root) in enumerate(roots.items()):
            harness.create_database(emulator.address, f"ab-{n}")
            urls[name] = stack.enter_context(
                harness.service(emulator.address, f"ab-{n}", {}, root=root)
            )
        accounts = {name: harness.open_accounts(url, 200, "acct") for name, url in urls.items()}
        for name, url in urls.items():
            scenarios.single_posts(url, accounts[name], 4, 2.0, "warm-up")
        passes: dict[str, list[scenarios.Measurement]] = {name: [] for name in urls}
        for _ in range(args.rounds):
            for name, url in urls.items():
                watched = cpu.Watched(emulator.pid or 0, harness.SERVICE_PIDS[url])
                run = functools.partial(scenarios.single_posts, url, accounts[name],
                                        args.clients, args.seconds, name)  # fmt: skip
                m = cpu.measured(watched, run)
                passes[name].append(m)
                print(f"{name:24s} {m.transfers_per_second:7.1f}/s  p99 {m.p99_ms:7.1f} ms  "
                      f"service CPU {m.service_cpu_ms:.3f} ms/transfer "
                      f"(event loop {m.loop_cpu_ms:.3f})", flush=True)  # fmt: skip
    print(f"\nmedians at {args.clients} clients, {args.rounds} passes each:")
    for name, ms in passes.items():
        rate = statistics.median(m.transfers_per_second for m in ms)
        p99 = statistics.median(m.p99_ms for m in ms)
        cost = statistics.median(m.service_cpu_ms or 0 for m in ms)
        loop = statistics.median(m.loop_cpu_ms or 0 for m in ms)
        print(
            f"{name:24s} {rate:7.1f}/s  p99 {p99:7.1f} ms  service CPU {cost:.3f} ms/transfer "
            f"(event loop {loop:.3f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
