"""``make bench``: measure everything against a private emulator, rewrite the docs.

python -m bench [--seconds 8] [--clients 1,8,32,64] [--accounts 200] [--no-docs]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from api.accounts.schemas import AccountCreate
from api.accounts.service import open_account
from api.context import RequestContext
from api.storage import DatabaseHandles, build_client
from bench import (
    bare,
    cold_start,
    cpu,
    cpu_per_request,
    events,
    group_stats,
    harness,
    history,
    report,
    scenarios,
)  # fmt: skip
from devtools.emulator import Emulator

DOCS = harness.ROOT / "docs"
RESULTS = harness.ROOT / "bench" / "results"
PLOT = "benchmarks-throughput.png"


def record_lifecycle(
    url: str,
    accounts: list[str],
    seconds: float,
    record: Callable[[scenarios.Measurement], None],
) -> None:
    """Holds without and with a timeout, then ``:post`` of holds made beforehand."""
    clients = report.LIFECYCLE_CLIENTS
    record(scenarios.single_posts(url, accounts, clients, seconds, report.LIFECYCLE_PLAIN))
    held, hold_ids = scenarios.holds(url, accounts, clients, seconds, report.HOLD)
    record(held)
    timed, _ = scenarios.holds(
        url, accounts, clients, seconds, report.HOLD_TIMEOUT, timeout_seconds=3600
    )
    record(timed)
    # Enough holds that posting does not run out: the ones just made, and as many again.
    hold_ids += scenarios.make_holds(url, accounts, max(len(hold_ids), 1000))
    record(scenarios.post_holds(url, hold_ids, clients, seconds, report.POST_HOLD))


def _event_lag(emulator: Emulator, seconds: float) -> events.EventsBench:
    """The event pipeline last: its Pub/Sub emulator and relay would load the rest."""
    return events.measure_all(emulator, max(seconds, 15.0))


def _ceilings(
    host: str, accounts: int, seconds: float, record: Callable[[Callable[[], Any]], None]
) -> None:
    """The no-HTTP ceiling and the bare client, K transfers per commit."""
    settings = harness.create_database(host, "ceiling")
    databases = DatabaseHandles.open(settings, build_client(settings))
    ids = [f"acct-{i:04d}" for i in range(accounts)]
    for account_id in ids:
        open_account(databases=databases, settings=settings,
                     ctx=RequestContext.starting_now(60),
                     request=AccountCreate(id=account_id, currency="USD"))  # fmt: skip
    databases.close()
    for per_txn in (1, 10, 32, 100, 250, 1000):
        record(functools.partial(scenarios.ceiling, settings, ids, per_txn, seconds))
    for per_txn in (1, 32, 1000):
        record(functools.partial(bare.ceiling, settings, ids, per_txn, seconds))


def _cold_start_ms(host: str, runs: int = 5) -> float:
    """Median of fresh ``uvicorn main:app`` processes to their first 200 on /readyz."""
    harness.create_database(host, "cold-start")
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        env = cold_start._env(host, "cold-start", Path(tmp))
        cold_start.uvicorn(env, Path(tmp))  # warm-up: page cache, .pyc files
        seconds = [cold_start.uvicorn(env, Path(tmp)) for _ in range(runs)]
    print(f"cold start: {[round(s * 1000) for s in seconds]} ms", flush=True)
    return statistics.median(seconds) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks; rewrite docs/BENCHMARKS.md")
    parser.add_argument("--seconds", type=float, default=8.0, help="per measured point")
    parser.add_argument("--clients", default="1,8,32,64")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]
    results: list[scenarios.Measurement] = []

    def record(m: scenarios.Measurement) -> None:
        results.append(m)
        print(
            f"{m.scenario:28s} {m.parameter:5d}  {m.transfers_per_second:9,.1f}/s  "
            f"p50 {m.p50_ms:7.1f} ms  p99 {m.p99_ms:7.1f} ms  {m.statuses}",
            flush=True,
        )

    with Emulator() as emulator:
        host = emulator.address
        pgid = emulator.pid or 0  # its own session: the pid is the group's id

        def on(url: str, run: Callable[[], scenarios.Measurement]) -> scenarios.Measurement:
            return cpu.measured(cpu.Watched(pgid, harness.SERVICE_PIDS[url]), run)

        def here(run: Callable[[], scenarios.Measurement]) -> scenarios.Measurement:
            return cpu.measured(cpu.Watched(pgid), run)

        harness.create_database(host, "group-on")
        harness.create_database(host, "group-off")
        with (
            harness.service(host, "group-on", {"LEDGER_GROUP_COMMIT_ENABLED": "true"}) as on_url,
            harness.service(host, "group-off", {"LEDGER_GROUP_COMMIT_ENABLED": "false"}) as off_url,
        ):
            modes = [(report.GROUP_ON, on_url), (report.GROUP_OFF, off_url)]
            accounts = {url: harness.open_accounts(url, args.accounts, "acct") for _, url in modes}
            for _, url in modes:  # warm-up: pools, code paths, emulator caches
                scenarios.single_posts(url, accounts[url], 4, 2.0, "warm-up")
            # Alternate the modes level by level so drift hits both alike.
            for clients in levels:
                for scenario, url in modes:
                    record(on(url, functools.partial(
                        scenarios.single_posts, url, accounts[url], clients, args.seconds, scenario
                    )))  # fmt: skip
            rss_mib = cpu.peak_rss_mib(harness.SERVICE_PIDS[on_url])
            # The lifecycle at 32 clients, group commit on, against the plain figure above.
            record_lifecycle(on_url, accounts[on_url], args.seconds, record)
            # A 3-leg transaction against single transfers, each pass right after the other.
            clients = report.LIFECYCLE_CLIENTS
            record(scenarios.single_posts(
                on_url, accounts[on_url], clients, args.seconds, report.TRANSACTION_PLAIN
            ))  # fmt: skip
            record(scenarios.transactions(
                on_url, accounts[on_url], clients, args.seconds, report.TRANSACTION
            ))  # fmt: skip
            for size in (100, 1000):
                record(on(on_url, functools.partial(
                    scenarios.batches, on_url, accounts[on_url], size, args.seconds
                )))  # fmt: skip
            # Reading history: the read mix over this ledger, then growth with history.
            record(history.read_mix(on_url, accounts[on_url], clients, args.seconds))
            on_settings = harness.bench_settings(host, "group-on")
            record(history.bare_read_mix(on_settings, accounts[on_url], clients, args.seconds))
            small, large = (history.seed(on_settings, n) for n in (history.SMALL, history.LARGE))
            growth = history.growth(on_url, small, large)
            for g in growth:
                print(f"history {g.read:16s} {g.small_ms:7.2f} ms vs {g.large_ms:7.2f} ms "
                      f"({g.ratio:.2f}x)", flush=True)  # fmt: skip
            client_cpu = cpu_per_request.compare(on_url)
            print(client_cpu, flush=True)

        stats = group_stats.measure(host, "group-stats", 32, args.seconds)
        print(stats, flush=True)

        _ceilings(host, args.accounts, args.seconds, lambda run: record(here(run)))
        cold_ms = _cold_start_ms(host)
        lag = _event_lag(emulator, args.seconds)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps([asdict(m) for m in results], indent=2))
    if not args.no_docs:
        report.plot(results, DOCS / PLOT)
        (DOCS / "BENCHMARKS.md").write_text(
            report.render(
                results,
                seconds=args.seconds,
                plot_name=PLOT,
                stats=stats,
                client_cpu=client_cpu,
                growth=growth,
                rss_mib=rss_mib,
                cold_ms=cold_ms,
            )
        )
        print(f"wrote {DOCS / 'BENCHMARKS.md'}, {events.write(lag)} and {DOCS / PLOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
