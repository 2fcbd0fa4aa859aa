"""Reading history: how a read's cost grows with an account's history, and a read mix.

Growth: two accounts with 1,000 and 100,000 entries, and the same reads of each over
HTTP (one client, one request at a time): a balance ``as_of`` the middle of the history,
a statement over a short range (100 entries there) and a long one (the first half of
the history), the newest page of entries, a page in a short range (50 entries) and one
inside a long range (the second page of the first half). A seek costs the same whatever
lies around it; a scan grows 100x, or with the range. Target: the large account within
2x of the small one, for every read.

The histories are written straight into Spanner (mutations, 1 ms between entries, the
totals and version to match): the reads are what is measured, and 100,000 entries
through the API would take the emulator most of the benchmark's budget. The entries
are the shape the ledger writes (sequence, signed amount, balance and posted totals
after, kind, timestamp), so the reads run the same code over the same rows.

The read mix: 32 clients, each sending in turn a balances read of 100 accounts, a page
of one account's history and a transfer query by account, over the benchmark's ledger.

``python -m bench.history`` runs the growth part alone (about two minutes): a private
emulator, the service as a process, the table with each target's verdict. ``--base
REV`` serves ``REV`` (in a temporary git worktree) instead of the working tree, to see
what a change bought.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from google.cloud import spanner

from api.accounts.repository import ACCOUNT_COLUMNS
from api.config import Settings
from api.ids import key_hash
from api.ledger.repository.accounts import ENTRY_COLUMNS
from api.storage import build_client
from bench import harness
from bench.httpclient import HttpConnection
from bench.scenarios import Measurement, _measurement, _percentile
from devtools.emulator import Emulator

SMALL, LARGE = 1_000, 100_000
# x 11 columns, and the entry's two time indexes: under Spanner's 80,000 mutations.
ROWS_PER_COMMIT = 2_000
AS_OF = "as_of the middle of the history"
STATEMENT_SHORT = "statement over 100 entries"
STATEMENT_LONG = "statement over the first half"
NEWEST_PAGE = "newest page"
PAGE_SHORT = "page in a range of 50 entries"
PAGE_LONG = "2nd page of the first half"
READS = (AS_OF, STATEMENT_SHORT, STATEMENT_LONG, NEWEST_PAGE, PAGE_SHORT, PAGE_LONG)
REQUESTS_PER_READ = 40
MAX_GROWTH = 2.0  # the target: the large account's read within this of the small one's
PAGE_SIZE = 50


@dataclass(frozen=True)
class History:
    account_id: str
    entries: int
    first: datetime  # PostedAt of the first entry; entry i is i ms later


def seed(settings: Settings, entries: int) -> History:
    """An account whose history is ``entries`` credits of 1, 1 ms apart, ending now."""
    account_id = f"history-{entries}-{uuid.uuid4().hex[:6]}"
    client = build_client(settings)
    database = client.instance(settings.spanner_instance).database(
        settings.spanner_database, pool=spanner.BurstyPool()
    )
    first = datetime.now(UTC) - timedelta(milliseconds=entries + 5_000)
    h = key_hash(account_id)
    values = {
        "AccountId": account_id, "Currency": "USD", "DebitsMustNotExceedCredits": False,
        "CreditsMustNotExceedDebits": False, "Metadata": None, "DebitsPosted": 0,
        "CreditsPosted": entries, "DebitsPending": 0, "CreditsPending": 0,
        "Version": entries, "RequestHash": "bench", "CreatedAt": first - timedelta(seconds=1),
        "UpdatedAt": first + timedelta(milliseconds=entries), "Closed": False,
        "BalanceLowerBound": None, "BalanceUpperBound": None, "Labels": None,
    }  # fmt: skip
    with database.batch() as batch:
        batch.insert("Accounts", ("KeyHash", *ACCOUNT_COLUMNS),
                     [(h, *(values[c] for c in ACCOUNT_COLUMNS))])  # fmt: skip
    for start in range(0, entries, ROWS_PER_COMMIT):
        rows = []
        for i in range(start, min(start + ROWS_PER_COMMIT, entries)):
            entry = {
                "AccountId": account_id, "Sequence": i + 1, "TransferId": f"{account_id}-{i}",
                "Amount": 1, "BalanceAfter": i + 1, "Kind": "transfer", "PendingAmount": 0,
                "PostedAt": first + timedelta(milliseconds=i), "DebitsAfter": 0,
                "CreditsAfter": i + 1,
            }  # fmt: skip
            rows.append((h, *(entry[c] for c in ENTRY_COLUMNS)))
        with database.batch() as batch:
            batch.insert("Entries", ("KeyHash", *ENTRY_COLUMNS), rows)
    return History(account_id, entries, first)


def _at(instant: datetime) -> str:
    return quote(instant.isoformat().replace("+00:00", "Z"))


def _path(read: str, history: History) -> str:
    account, first = history.account_id, history.first
    middle = first + timedelta(milliseconds=history.entries // 2)
    entries = f"/v1/accounts/{account}/entries?page_size={PAGE_SIZE}"
    if read == AS_OF:
        return f"/v1/accounts/{account}?as_of={_at(middle)}"
    if read == STATEMENT_SHORT:
        end = middle + timedelta(milliseconds=100)
        return f"/v1/accounts/{account}/statement?from={_at(middle)}&to={_at(end)}"
    if read == STATEMENT_LONG:
        return f"/v1/accounts/{account}/statement?from={_at(first)}&to={_at(middle)}"
    if read == NEWEST_PAGE:
        return entries
    if read == PAGE_SHORT:
        end = middle + timedelta(milliseconds=PAGE_SIZE)
        return f"{entries}&from={_at(middle)}&to={_at(end)}"
    return f"{entries}&from={_at(first)}&to={_at(middle)}"


def _expected(read: str, history: History) -> dict[str, int]:
    """What each read must answer: a fast wrong answer would measure nothing."""
    if read == AS_OF:
        return {"balance": history.entries // 2 + 1}  # entries at or before the middle
    if read == STATEMENT_SHORT:
        return {"entry_count": 100, "credits": 100}
    if read == STATEMENT_LONG:
        half = history.entries // 2
        return {"entry_count": half, "credits": half, "closing_balance": half}
    return {"items": PAGE_SIZE}


def _resolved(url: str, read: str, history: History) -> str:
    """The read's path, checked against what it must answer; for a page inside a long
    range, its second page (the token the first one gives)."""
    path = _path(read, history)
    with httpx.Client(base_url=url, timeout=60) as http:
        body = http.get(path).raise_for_status().json()
        if read == PAGE_LONG:
            path += f"&page_token={quote(body['next_page_token'])}"
            body = http.get(path).raise_for_status().json()
    seen = {k: len(body[k]) if k == "items" else body[k] for k in _expected(read, history)}
    if seen != _expected(read, history):
        raise RuntimeError(f"{path}: {seen}, expected {_expected(read, history)}")
    return path


async def _latencies(url: str, path: str, count: int) -> list[float]:
    parts = urlsplit(url)
    connection = HttpConnection(parts.hostname or "127.0.0.1", parts.port or 80)
    taken = []
    try:
        await connection.get(path)  # warm: the first read of a range pays for caching
        for _ in range(count):
            started = time.perf_counter()
            status, body = await connection.get(path)
            taken.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{path}: {status} {body[:200]!r}")
    finally:
        await connection.close()
    return taken


@dataclass(frozen=True)
class Growth:
    read: str
    small_ms: float
    large_ms: float

    @property
    def ratio(self) -> float:
        return self.large_ms / self.small_ms

    @property
    def met(self) -> bool:
        return self.ratio <= MAX_GROWTH


def growth(url: str, small: History, large: History) -> list[Growth]:
    """Median latency of each read for both accounts, alternated so drift hits both."""
    found = []
    for read in READS:
        paths = {h.entries: _resolved(url, read, h) for h in (small, large)}
        medians: dict[int, list[float]] = {small.entries: [], large.entries: []}
        for _ in range(2):
            for history in (small, large):
                taken = asyncio.run(_latencies(url, paths[history.entries], REQUESTS_PER_READ // 2))
                medians[history.entries] += taken
        found.append(
            Growth(
                read,
                round(statistics.median(medians[small.entries]) * 1000, 2),
                round(statistics.median(medians[large.entries]) * 1000, 2),
            )
        )
    return found


def describe(g: Growth) -> str:
    verdict = "met" if g.met else "NOT MET"
    return (
        f"history {g.read:32s} {g.small_ms:7.2f} ms vs {g.large_ms:7.2f} ms "
        f"({g.ratio:.2f}x, target <= {MAX_GROWTH:g}x: {verdict})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=f"History reads of accounts with {SMALL:,} and {LARGE:,} entries, one pass."
    )
    parser.add_argument("--base", help="serve this revision (a temporary git worktree)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        root = stack.enter_context(harness.checkout(args.base)) if args.base else harness.ROOT
        emulator = stack.enter_context(Emulator())
        settings = harness.create_database(emulator.address, "history")
        url = stack.enter_context(harness.service(emulator.address, "history", {}, root=root))
        small, large = (seed(settings, n) for n in (SMALL, LARGE))
        found = growth(url, small, large)
    for g in found:
        print(describe(g), flush=True)
    return 0 if all(g.met for g in found) else 1


READ_MIX = "HTTP read mix"


def read_mix(url: str, accounts: list[str], clients: int, seconds: float) -> Measurement:
    """Closed loop: each client sends balances of 100 accounts, a history page and a
    transfer query by account, in turn."""
    rngs = [random.Random(f"mix-{n}") for n in range(clients)]
    parts = urlsplit(url)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    stop_at = time.perf_counter() + seconds

    def next_path(n: int, i: int) -> str:
        rng = rngs[n]
        if i % 3 == 0:
            return f"/v1/balances?account_ids={','.join(rng.sample(accounts, 100))}"
        if i % 3 == 1:
            return f"/v1/accounts/{rng.choice(accounts)}/entries?page_size=50"
        return f"/v1/transfers?account_id={rng.choice(accounts)}&page_size=50"

    async def client(n: int) -> None:
        connection = HttpConnection(parts.hostname or "127.0.0.1", parts.port or 80)
        i = n  # clients start at different kinds of read
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                status, _ = await connection.get(next_path(n, i))
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                i += 1
        finally:
            await connection.close()

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    ordered = sorted(latencies)
    reads = sum(v for k, v in statuses.items() if k == 200)
    return Measurement(
        scenario=READ_MIX,
        parameter=clients,
        seconds=round(elapsed, 2),
        transfers=reads,  # reads answered 200
        transfers_per_second=round(reads / elapsed, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 1) if ordered else float("nan"),
        p99_ms=round(_percentile(ordered, 0.99) * 1000, 1),
        statuses={str(k): v for k, v in sorted(statuses.items())},
    )


BARE_READ_MIX = "bare client read mix"


def bare_read_mix(
    settings: Settings, accounts: list[str], clients: int, seconds: float
) -> Measurement:
    """The same read mix with the bare google-cloud-spanner client, ``clients`` threads,
    the fewest columns and reads: the limit this emulator sets, in the same run."""
    client = spanner.Client(project=settings.project)
    database = client.instance(settings.spanner_instance).database(
        settings.spanner_database, pool=spanner.PingingPool(size=clients)
    )
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def keys(ids: list[str]) -> spanner.KeySet:
        return spanner.KeySet(keys=[[key_hash(i), i] for i in ids])

    def page(snapshot: Any, account_id: str) -> list[Any]:
        (version,) = next(iter(snapshot.read("Accounts", ("Version",), keys([account_id]))))
        h = key_hash(account_id)
        span = spanner.KeyRange(start_closed=[h, account_id, version],
                                end_open=[h, account_id, max(version - 50, 0)])  # fmt: skip
        return list(snapshot.read("Entries", ("Sequence", "TransferId", "Amount", "BalanceAfter"),
                                  spanner.KeySet(ranges=[span])))  # fmt: skip

    def one(rng: random.Random, i: int) -> None:
        if i % 3 == 0:
            with database.snapshot() as snapshot:
                list(snapshot.read("Accounts", ("AccountId", "DebitsPosted", "CreditsPosted"),
                                   keys(rng.sample(accounts, 100))))  # fmt: skip
        elif i % 3 == 1:
            with database.snapshot(multi_use=True) as snapshot:
                page(snapshot, rng.choice(accounts))
        else:
            with database.snapshot(multi_use=True) as snapshot:
                rows = page(snapshot, rng.choice(accounts))
                list(snapshot.read("Transfers", ("TransferId", "Amount", "Status"),
                                   keys([r[1] for r in rows])))  # fmt: skip

    def worker(n: int) -> None:
        rng = random.Random(f"bare-mix-{n}")
        i = n
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            one(rng, i)
            with lock:
                latencies.append(time.perf_counter() - started)
                statuses[200] += 1
            i += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    reads = statuses[200]
    return _measurement(
        BARE_READ_MIX, clients, elapsed=elapsed, transfers=reads, latencies=latencies,
        statuses=statuses,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
