"""What the benchmark measures: HTTP single POSTs, HTTP batches, the no-HTTP ceiling,
and the transfer lifecycle (holds made and posted) against plain single POSTs."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from api.config import Settings
from api.context import RequestContext
from api.ledger.commit import commit_orders
from api.storage import DatabaseHandles, build_client
from api.transfers.convert import prepare
from api.transfers.schemas import TransferCreate
from bench.httpclient import HttpConnection


@dataclass
class Measurement:
    scenario: str
    parameter: int  # clients, or transfers per request / transaction
    seconds: float
    transfers: int
    transfers_per_second: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    # CPU per transfer over the pass (bench/cpu.py): the process doing the ledger's work
    # (the service, or this process for the ceilings) and the emulator.
    service_cpu_ms: float | None = None
    # Of it, the service's event-loop thread (bench/cpu.py); None for the ceilings.
    loop_cpu_ms: float | None = None
    emulator_cpu_ms: float | None = None


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _measurement(
    scenario: str,
    parameter: int,
    *,
    elapsed: float,
    transfers: int,
    latencies: list[float],
    statuses: Counter[int],
) -> Measurement:
    ordered = sorted(latencies)
    return Measurement(
        scenario=scenario,
        parameter=parameter,
        seconds=round(elapsed, 2),
        transfers=transfers,
        transfers_per_second=round(transfers / elapsed, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 1) if ordered else float("nan"),
        p99_ms=round(_percentile(ordered, 0.99) * 1000, 1),
        statuses={str(k): v for k, v in sorted(statuses.items())},
    )


def _body(rng: random.Random, accounts: list[str], transfer_id: str) -> dict[str, object]:
    debit, credit = rng.sample(accounts, 2)
    return {"id": transfer_id, "debit_account_id": debit, "credit_account_id": credit,
            "amount": rng.randint(1, 1000)}  # fmt: skip


# One request of a closed loop: (path, JSON body, transfers it carries); None: stop.
Call = tuple[str, object, int]
MakeCall = Callable[[int, int], Call | None]


async def _closed_loop(
    url: str,
    clients: int,
    seconds: float,
    make_call: MakeCall,
    on_response: Callable[[str, object, int], None] | None = None,
) -> tuple[float, list[float], Counter[int], int]:
    """``clients`` connections each sending the next request as soon as one returns.

    A client stops early when ``make_call`` has nothing left to send (None).
    """
    parts = urlsplit(url)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    transfers = 0
    stop_at = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal transfers
        connection = HttpConnection(parts.hostname or "127.0.0.1", parts.port or 80)
        i = 0
        try:
            while time.perf_counter() < stop_at:
                call = make_call(n, i)
                if call is None:
                    return
                path, body, count = call
                started = time.perf_counter()
                status, _ = await connection.post_json(path, body)
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                if status in (200, 201):
                    transfers += count
                if on_response is not None:
                    on_response(path, body, status)
                i += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return time.perf_counter() - started, latencies, statuses, transfers


def single_posts(url: str, accounts: list[str], clients: int, seconds: float,
                 scenario: str) -> Measurement:  # fmt: skip
    run = uuid.uuid4().hex[:8]
    rngs = [random.Random(f"{run}-{n}") for n in range(clients)]

    def make(n: int, i: int) -> Call:
        return "/v1/transfers", _body(rngs[n], accounts, f"s{run}-{n}-{i}"), 1

    elapsed, latencies, statuses, transfers = asyncio.run(_closed_loop(url, clients, seconds, make))
    return _measurement(
        scenario,
        clients,
        elapsed=elapsed,
        transfers=transfers,
        latencies=latencies,
        statuses=statuses,
    )


def batches(
    url: str, accounts: list[str], size: int, seconds: float, clients: int = 1
) -> Measurement:
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)

    def make(n: int, i: int) -> Call:
        items = [_body(rng, accounts, f"b{run}-{n}-{i}-{k}") for k in range(size)]
        return "/v1/transfers:batch", {"transfers": items, "atomic": False}, size

    elapsed, latencies, statuses, transfers = asyncio.run(_closed_loop(url, clients, seconds, make))
    return _measurement(
        "batch endpoint",
        size,
        elapsed=elapsed,
        transfers=transfers,
        latencies=latencies,
        statuses=statuses,
    )


def holds(
    url: str,
    accounts: list[str],
    clients: int,
    seconds: float,
    scenario: str,
    *,
    timeout_seconds: int | None = None,
) -> tuple[Measurement, list[str]]:
    """Single POSTs of holds (``"pending": true``), as ``single_posts`` otherwise.

    With ``timeout_seconds`` each hold gets an ``expires_at``, so its transaction also
    reads Spanner's time (a query). Returns the measurement and the ids of the holds made.
    """
    run = uuid.uuid4().hex[:8]
    rngs = [random.Random(f"{run}-{n}") for n in range(clients)]
    made: list[str] = []

    def make(n: int, i: int) -> Call:
        body = {**_body(rngs[n], accounts, f"h{run}-{n}-{i}"), "pending": True}
        if timeout_seconds is not None:
            body["timeout_seconds"] = timeout_seconds
        return "/v1/transfers", body, 1

    def made_one(_path: str, body: object, status: int) -> None:
        if status == 201 and isinstance(body, dict):
            made.append(body["id"])

    elapsed, latencies, statuses, transfers = asyncio.run(
        _closed_loop(url, clients, seconds, make, made_one)
    )
    measurement = _measurement(
        scenario,
        clients,
        elapsed=elapsed,
        transfers=transfers,
        latencies=latencies,
        statuses=statuses,
    )
    return measurement, made


def transactions(url: str, accounts: list[str], clients: int, seconds: float,
                 scenario: str) -> Measurement:  # fmt: skip
    """Single POSTs of a 3-leg transaction, a purchase: buyer to merchant, buyer to tax,
    merchant to fees (four distinct random accounts). Counts transfers (legs)."""
    run = uuid.uuid4().hex[:8]
    rngs = [random.Random(f"{run}-{n}") for n in range(clients)]

    def make(n: int, i: int) -> Call:
        rng = rngs[n]
        buyer, merchant, tax, fees = rng.sample(accounts, 4)
        moves = ((buyer, merchant, rng.randint(100, 1000)), (buyer, tax, rng.randint(1, 100)),
                 (merchant, fees, rng.randint(1, 30)))  # fmt: skip
        legs = [
            {"debit_account_id": debit, "credit_account_id": credit, "amount": amount}
            for debit, credit, amount in moves
        ]
        return "/v1/transactions", {"id": f"x{run}-{n}-{i}", "legs": legs}, len(legs)

    elapsed, latencies, statuses, transfers = asyncio.run(_closed_loop(url, clients, seconds, make))
    return _measurement(
        scenario,
        clients,
        elapsed=elapsed,
        transfers=transfers,
        latencies=latencies,
        statuses=statuses,
    )


def make_holds(url: str, accounts: list[str], count: int) -> list[str]:
    """``count`` holds without timeout, made beforehand through the batch endpoint."""
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    made: list[str] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for start in range(0, count, 1000):
            items = [
                {**_body(rng, accounts, f"p{run}-{k}"), "pending": True}
                for k in range(start, min(count, start + 1000))
            ]
            response = http.post("/v1/transfers:batch", json={"transfers": items})
            response.raise_for_status()
            made += [r["transfer"]["id"] for r in response.json()["results"] if r["status"] == 201]
    return made


def post_holds(
    url: str, hold_ids: list[str], clients: int, seconds: float, scenario: str
) -> Measurement:
    """``POST /v1/transfers/{id}:post`` (the whole amount) of holds made beforehand,
    each hold once; a client stops early if the holds run out (the rate stays true)."""
    pending = deque(hold_ids)

    def make(_n: int, _i: int) -> Call | None:
        if not pending:
            return None
        return f"/v1/transfers/{pending.popleft()}:post", {}, 1

    elapsed, latencies, statuses, transfers = asyncio.run(_closed_loop(url, clients, seconds, make))
    return _measurement(
        scenario,
        clients,
        elapsed=elapsed,
        transfers=transfers,
        latencies=latencies,
        statuses=statuses,
    )


def ceiling(settings: Settings, accounts: list[str], per_txn: int, seconds: float) -> Measurement:
    """The same transaction code with no HTTP: K transfers per commit, back to back."""
    databases = DatabaseHandles.open(settings, build_client(settings))
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    transfers = 0
    stop_at = time.perf_counter() + seconds
    started = time.perf_counter()
    i = 0
    while time.perf_counter() < stop_at:
        orders = [
            prepare(
                TransferCreate.model_validate(_body(rng, accounts, f"r{run}-{i}-{k}")),
                settings=settings,
            )
            for k in range(per_txn)
        ]
        t0 = time.perf_counter()
        results = commit_orders(
            databases.writer, orders, RequestContext.starting_now(60).budget("bench.ceiling")
        )
        latencies.append(time.perf_counter() - t0)
        ok = sum(1 for r in results if r.error is None)
        statuses[201] += ok
        transfers += ok
        i += 1
    elapsed = time.perf_counter() - started
    databases.close()
    return _measurement(
        "no-HTTP ceiling",
        per_txn,
        elapsed=elapsed,
        transfers=transfers,
        latencies=latencies,
        statuses=statuses,
    )
