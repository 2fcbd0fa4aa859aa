"""POST /v1/transfers:batch over HTTP against the emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_mock import MockerFixture

from api.app import create_app
from api.batch import service as batch_service
from api.ids import MAX_LABELS

Ids = Callable[[str], str]


@pytest.fixture
def open_account(client: TestClient, unique: Ids) -> Callable[..., str]:
    def open_(**flags: bool) -> str:
        account_id = unique("acct")
        response = client.post(
            "/v1/accounts", json={"id": account_id, "currency": "USD", "flags": flags}
        )
        assert response.status_code == 201
        return account_id

    return open_


WEIGHTY_LABELS = {f"key{n}": f"value-{n}" for n in range(MAX_LABELS)}


def t(tid: str, debit: str, credit: str, amount: int) -> dict[str, Any]:
    return {"id": tid, "debit_account_id": debit, "credit_account_id": credit, "amount": amount}


def batch(client: TestClient, transfers: list[dict[str, Any]], atomic: bool = False) -> Any:
    return client.post("/v1/transfers:batch", json={"transfers": transfers, "atomic": atomic})


def balance(client: TestClient, account_id: str) -> int:
    return int(client.get(f"/v1/accounts/{account_id}").json()["balance"])


def test_each_item_gets_its_own_outcome_in_order(
    client: TestClient, open_account: Callable[..., str], unique: Ids
) -> None:
    a, b = open_account(), open_account()
    ids = [unique("t") for _ in range(3)]
    response = batch(client, [t(ids[0], a, b, 5), t(ids[1], a, "ghost", 5), t(ids[2], a, b, 7)])
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [201, 404, 201]
    assert body["results"][1]["problem"]["code"] == "account_not_found"
    assert "instance" not in body["results"][1]["problem"]  # absent, not null
    assert (body["created"], body["replayed"], body["failed"]) == (2, 0, 1)
    assert balance(client, b) == 12


def test_later_item_sees_balance_left_by_earlier_one(
    client: TestClient, open_account: Callable[..., str], unique: Ids
) -> None:
    bank, wallet = open_account(), open_account(debits_must_not_exceed_credits=True)
    body = batch(
        client,
        [
            t(unique("t"), bank, wallet, 10),
            t(unique("t"), wallet, bank, 8),
            t(unique("t"), wallet, bank, 8),  # only 2 left
        ],
    ).json()
    assert [r["status"] for r in body["results"]] == [201, 201, 409]
    assert balance(client, wallet) == 2


def test_same_id_twice_behaves_like_two_requests(
    client: TestClient, open_account: Callable[..., str], unique: Ids
) -> None:
    a, b = open_account(), open_account()
    tid = unique("t")
    body = batch(client, [t(tid, a, b, 5), t(tid, a, b, 5), t(tid, a, b, 6)]).json()
    assert [r["status"] for r in body["results"]] == [201, 200, 409]
    assert body["results"][1]["transfer"] == body["results"][0]["transfer"]
    assert balance(client, b) == 5


def test_replay_of_whole_batch_returns_200s_and_moves_nothing(
    client: TestClient, open_account: Callable[..., str], unique: Ids
) -> None:
    a, b = open_account(), open_account()
    transfers = [t(unique("t"), a, b, n) for n in (1, 2, 3)]
    first = batch(client, transfers).json()
    again = batch(client, transfers).json()
    assert [r["status"] for r in again["results"]] == [200, 200, 200]
    assert [r["transfer"] for r in again["results"]] == [r["transfer"] for r in first["results"]]
    assert balance(client, b) == 6


def test_atomic_batch_applies_all(
    client: TestClient, open_account: Callable[..., str], unique: Ids
) -> None:
    a, b = open_account(), open_account()
    body = batch(client, [t(unique("t"), a, b, 1), t(unique("t"), b, a, 3)], atomic=True).json()
    assert [r["status"] for r in body["results"]] == [201, 201]
    assert balance(client, a) == 2


def test_atomic_batch_failure_writes_nothing_and_names_the_item(
    client: TestClient, open_account: Callable[..., str], unique: Ids
) -> None:
    bank, wallet = open_account(), open_account(debits_must_not_exceed_credits=True)
    bad_id = unique("t")
    response = batch(
        client, [t(unique("t"), bank, wallet, 5), t(bad_id, wallet, bank, 6)], atomic=True
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "insufficient_funds"
    assert problem["errors"] == [{"index": 1, "id": bad_id, "code": "insufficient_funds"}]
    assert balance(client, wallet) == 0
    assert client.get(f"/v1/accounts/{bank}").json()["version"] == 0


def test_large_batch_is_committed_in_chunks_in_order(
    ledger_settings: Any, unique: Ids, mocker: MockerFixture
) -> None:
    settings = ledger_settings.model_copy(update={"batch_chunk_size": 4})
    spy = mocker.spy(batch_service, "commit_orders")
    with TestClient(create_app(settings, configure_logs=False)) as small_chunks:
        a, b = unique("acct"), unique("acct")
        for account_id in (a, b):
            small_chunks.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
        transfers = [t(unique("t"), a, b, n) for n in range(1, 11)]
        body = batch(small_chunks, transfers).json()
        entries = small_chunks.get(f"/v1/accounts/{b}/entries", params={"page_size": 20})
    assert [len(call.args[1]) for call in spy.call_args_list] == [4, 4, 2]
    assert body["created"] == 10
    sequence_to_amount = {e["sequence"]: e["amount"] for e in entries.json()["items"]}
    assert sequence_to_amount == {n: n for n in range(1, 11)}


def test_atomic_batch_larger_than_one_commit_is_rejected_up_front(
    ledger_settings: Any, unique: Ids
) -> None:
    settings = ledger_settings.model_copy(update={"max_transfers_per_commit": 2})
    with TestClient(create_app(settings, configure_logs=False)) as small:
        response = batch(small, [t(unique("t"), "a", "b", 1) for _ in range(3)], atomic=True)
    assert response.status_code == 422
    assert "one commit" in response.json()["detail"]


def test_more_than_the_batch_limit_is_422(client: TestClient) -> None:
    response = batch(client, [t(f"t{i}", "a", "b", 1) for i in range(1001)])
    assert response.status_code == 422


def test_empty_batch_is_422(client: TestClient) -> None:
    assert batch(client, []).status_code == 422


def test_thousand_transfers_in_one_request(
    client: TestClient, open_account: Callable[..., str], unique: Ids
) -> None:
    accounts = [open_account() for _ in range(10)]
    transfers = [
        t(unique("t"), accounts[i % 10], accounts[(i + 1) % 10], 1 + i % 7) for i in range(1000)
    ]
    body = batch(client, transfers).json()
    assert body["created"] == 1000
    snapshot = client.get("/v1/balances", params={"account_ids": ",".join(accounts)}).json()
    assert sum(b["balance"] for b in snapshot["balances"]) == 0


def test_an_atomic_batch_heavier_than_one_commit_is_refused_up_front_naming_the_limit(
    client: TestClient, pair: tuple[str, str], unique: Any
) -> None:
    """1,000 transfers with 16 labels each: ~158,000 mutations by the estimates above."""
    a, b = pair
    items = [
        {"id": unique("t"), "debit_account_id": a, "credit_account_id": b, "amount": 1,
         "labels": WEIGHTY_LABELS}
        for _ in range(1000)
    ]  # fmt: skip
    response = client.post("/v1/transfers:batch", json={"transfers": items, "atomic": True})
    assert response.status_code == 422, response.status_code
    assert "80,000 mutations" in response.json()["detail"]
    assert client.get(f"/v1/accounts/{a}").json()["version"] == 0
