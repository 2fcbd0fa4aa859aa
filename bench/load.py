"""HTTP load generator: single-transfer POSTs at several concurrency levels.

Starts a private emulator and the real service (uvicorn in its own process, as on
Cloud Run) unless --url is given, opens accounts, then for each concurrency level runs
closed-loop clients for a fixed time and reports transfers/s and latency percentiles.

    python -m bench.load --clients 1,8,32 --seconds 10

The client is asyncio + httpx in one process: on a 2-core machine it leaves the
server most of a core, where a thread per client would spend it on switching.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from google.cloud import spanner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import Settings  # noqa: E402
from api.spanner.admin import ensure_instance_and_database  # noqa: E402
from api.spanner.database import build_client  # noqa: E402
from api.spanner.emulator import Emulator, free_port  # noqa: E402
from api.spanner.migrations import apply_migrations  # noqa: E402


@dataclass
class Result:
    clients: int
    seconds: float
    requests: int
    transfers_per_second: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]


async def run_level(url: str, accounts: list[str], clients: int, seconds: float) -> Result:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    run_id = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        stop_at = time.perf_counter() + seconds

        async def client(n: int) -> None:
            rng = random.Random(f"{run_id}-{n}")
            i = 0
            while time.perf_counter() < stop_at:
                debit, credit = rng.sample(accounts, 2)
                body = {"id": f"b{run_id}-{n}-{i}", "debit_account_id": debit,
                        "credit_account_id": credit, "amount": rng.randint(1, 1000)}  # fmt: skip
                started = time.perf_counter()
                response = await http.post("/v1/transfers", json=body)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    ok = statuses[201] + statuses[200]
    return Result(
        clients=clients,
        seconds=round(elapsed, 2),
        requests=len(latencies),
        transfers_per_second=round(ok / elapsed, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 1) if ordered else float("nan"),
        p99_ms=round(percentile(ordered, 0.99) * 1000, 1),
        statuses={str(k): v for k, v in sorted(statuses.items())},
    )


def open_accounts(url: str, count: int) -> list[str]:
    ids = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    with httpx.Client(base_url=url, timeout=30) as http:
        for account_id in ids:
            response = http.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
            response.raise_for_status()
    return ids


@contextmanager
def local_service(env_overrides: dict[str, str]) -> Iterator[str]:
    """A private emulator + migrated database + the service as a uvicorn process."""
    with Emulator() as emulator:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, emulator_host=emulator.address, project="bench-project",
            spanner_instance="bench", spanner_database="ledger",
        )  # fmt: skip
        client = build_client(settings)
        ensure_instance_and_database(client, "bench", "ledger")
        database = client.instance("bench").database("ledger", pool=spanner.BurstyPool())
        apply_migrations(database, settings.ddl_dir, emulator=True, out=lambda _: None)
        port = free_port()
        env = {
            **os.environ,
            "SPANNER_EMULATOR_HOST": emulator.address,
            "LEDGER_PROJECT": "bench-project",
            "LEDGER_SPANNER_INSTANCE": "bench",
            "LEDGER_SPANNER_DATABASE": "ledger",
            "LEDGER_AUTH_MODE": "none",
            "LEDGER_LOG_LEVEL": "WARNING",
            **env_overrides,
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("service did not become ready")
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            server.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8,32", help="comma-separated levels")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--url", help="an already running service (else a private one)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    parser.add_argument("--json", type=Path, help="write results here as JSON")
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]
    overrides = dict(item.split("=", 1) for item in args.env)

    @contextmanager
    def target() -> Iterator[str]:
        if args.url:
            yield args.url
        else:
            with local_service(overrides) as url:
                yield url

    results = []
    with target() as url:
        accounts = open_accounts(url, args.accounts)
        asyncio.run(run_level(url, accounts, 1, 2.0))  # warm-up, not reported
        for clients in levels:
            result = asyncio.run(run_level(url, accounts, clients, args.seconds))
            results.append(result)
            print(
                f"clients={clients:3d}  transfers/s={result.transfers_per_second:8.1f}  "
                f"p50={result.p50_ms:7.1f} ms  p99={result.p99_ms:7.1f} ms  "
                f"statuses={result.statuses}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
