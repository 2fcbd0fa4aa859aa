"""The ledger's invariants under concurrent writers and readers, over real HTTP.

Many clients post random transfers (some replayed, some overdrawing) among a few
accounts while others read balances. Afterwards and in every snapshot seen: the sum of
all balances is zero, no constrained account crossed its limit, no response was a 5xx,
and every account's entries add up to its balance with an unbroken sequence.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

WALLETS = ["wallet-1", "wallet-2", "wallet-3"]  # may not go below zero
CREDIT_LINE = "credit-line"  # may not go above zero
BANK = "bank"  # unconstrained
ACCOUNTS = [BANK, CREDIT_LINE, *WALLETS]


def open_accounts(http: httpx.Client) -> None:
    flags = {w: {"debits_must_not_exceed_credits": True} for w in WALLETS}
    flags[CREDIT_LINE] = {"credits_must_not_exceed_debits": True}
    for account_id in ACCOUNTS:
        response = http.post(
            "/v1/accounts",
            json={"id": account_id, "currency": "USD", "flags": flags.get(account_id, {})},
        )
        assert response.status_code == 201, response.text


def run_clients(url: str, *, writers: int, transfers_each: int, readers: int) -> dict[str, object]:
    statuses: Counter[int] = Counter()
    snapshots: list[dict[str, object]] = []
    lock = threading.Lock()
    done = threading.Event()

    def writer(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=url, timeout=30) as http:
            for i in range(transfers_each):
                debit, credit = rng.sample(ACCOUNTS, 2)
                body = {
                    "id": f"w{n}-{i}",
                    "debit_account_id": debit,
                    "credit_account_id": credit,
                    "amount": rng.randint(1, 500),
                }
                sends = 2 if rng.random() < 0.1 else 1  # some clients retry
                for _ in range(sends):
                    status = http.post("/v1/transfers", json=body).status_code
                    with lock:
                        statuses[status] += 1

    def reader() -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not done.is_set():
                response = http.get("/v1/balances", params={"account_ids": ",".join(ACCOUNTS)})
                with lock:
                    statuses[response.status_code] += 1
                    snapshots.append(response.json())

    with ThreadPoolExecutor(writers + readers) as pool:
        reading = [pool.submit(reader) for _ in range(readers)]
        writing = [pool.submit(writer, n) for n in range(writers)]
        for future in writing:
            future.result()
        done.set()
        for future in reading:
            future.result()
    return {"statuses": statuses, "snapshots": snapshots}


def assert_snapshot_invariants(snapshot: dict[str, object]) -> None:
    balances = {b["account_id"]: b["balance"] for b in snapshot["balances"]}  # type: ignore[attr-defined]
    assert sum(balances.values()) == 0, snapshot
    assert all(balances[w] >= 0 for w in WALLETS), snapshot
    assert balances[CREDIT_LINE] <= 0, snapshot


def assert_entries_match(http: httpx.Client, account_id: str) -> None:
    account = http.get(f"/v1/accounts/{account_id}").json()
    entries, token = [], None
    while True:
        params = {"page_size": 500, **({"page_token": token} if token else {})}
        page = http.get(f"/v1/accounts/{account_id}/entries", params=params).json()
        entries += page["items"]
        token = page["next_page_token"]
        if not token:
            break
    assert sum(e["amount"] for e in entries) == account["balance"]
    assert [e["sequence"] for e in entries] == list(range(account["version"], 0, -1))
    running = 0
    for entry in reversed(entries):
        running += entry["amount"]
        assert entry["balance_after"] == running


@pytest.mark.slow
@pytest.mark.parametrize(
    ("group_commit", "writers"),
    [(True, 64), (False, 32)],
    ids=["group-commit-64-clients", "txn-per-request-32-clients"],
)
def test_invariants_hold_under_concurrent_clients(
    live_server_factory: Callable[..., object], group_commit: bool, writers: int
) -> None:
    server = live_server_factory(pool_size=8, group_commit_enabled=group_commit)
    url = server.url  # type: ignore[attr-defined]
    with httpx.Client(base_url=url, timeout=30) as http:
        open_accounts(http)
        # Fund the wallets so that both outcomes (applied / insufficient) occur.
        for n, wallet in enumerate(WALLETS):
            body = {"id": f"fund-{n}", "debit_account_id": BANK, "credit_account_id": wallet,
                    "amount": 2_000}  # fmt: skip
            assert http.post("/v1/transfers", json=body).status_code == 201

        result = run_clients(url, writers=writers, transfers_each=8, readers=4)
        statuses: Counter[int] = result["statuses"]  # type: ignore[assignment]
        assert not [s for s in statuses if s >= 500], statuses
        assert set(statuses) <= {200, 201, 409}, statuses
        assert statuses[201] > 0 and statuses[200] > 0, statuses
        snapshots: list[dict[str, object]] = result["snapshots"]  # type: ignore[assignment]
        assert snapshots
        for snapshot in snapshots:
            assert_snapshot_invariants(snapshot)

        final = http.get("/v1/balances", params={"account_ids": ",".join(ACCOUNTS)}).json()
        assert_snapshot_invariants(final)
        for account_id in ACCOUNTS:
            assert_entries_match(http, account_id)
