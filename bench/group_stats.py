"""Where a single-transfer POST's time goes under group commit, from the request logs.

Runs the service with request logging on, drives N closed-loop clients, and reports
the group sizes the writer formed, the Spanner time of those groups and the requests'
latency — the figures behind "What bounds it" in docs/BENCHMARKS.md (``make bench``
runs it too):

    python -m bench.group_stats --clients 32
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import harness, scenarios
from devtools.emulator import Emulator


@dataclass
class GroupStats:
    clients: int
    transfers_per_second: float
    mean_group: float
    median_group: float
    group_txn_ms: float  # median Spanner time of a group's transaction
    server_latency_ms: float  # median time a request spent in the server
    writer_busy: float  # share of the time the writer was inside a transaction


def measure(emulator_host: str, database: str, clients: int, seconds: float) -> GroupStats:
    log_path = Path(tempfile.mkdtemp()) / "server.log"
    harness.create_database(emulator_host, database)
    with harness.service(emulator_host, database, {}, log_path=log_path) as url:
        accounts = harness.open_accounts(url, 200, "acct")
        scenarios.single_posts(url, accounts, 8, 2.0, "warm-up")
        mark = log_path.stat().st_size
        result = scenarios.single_posts(url, accounts, clients, seconds, "group stats")
    groups, spanner_ms, latency_ms = [], [], []
    with log_path.open() as log:
        log.seek(mark)
        for line in log:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message", "").startswith("POST /v1/transfers 20"):
                groups.append(entry["spanner"].get("group_size", 1))
                spanner_ms.append(entry["spanner"]["seconds"] * 1000)
                latency_ms.append(float(entry["httpRequest"]["latency"].rstrip("s")) * 1000)
    mean_group = statistics.mean(groups)
    txn_ms = statistics.median(spanner_ms)
    return GroupStats(
        clients=clients,
        transfers_per_second=result.transfers_per_second,
        mean_group=round(mean_group, 1),
        median_group=statistics.median(groups),
        group_txn_ms=round(txn_ms, 1),
        server_latency_ms=round(statistics.median(latency_ms), 1),
        writer_busy=round(result.transfers_per_second / mean_group * txn_ms / 1000, 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with Emulator() as emulator:
        print(measure(emulator.address, "group-stats", args.clients, args.seconds))


if __name__ == "__main__":
    main()
