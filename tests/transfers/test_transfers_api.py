"""Transfers over real HTTP against the emulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

Ids = Callable[[str], str]


@pytest.fixture
def accounts(client: TestClient, unique: Ids) -> Callable[..., str]:
    def open_account(currency: str = "USD", **flags: bool) -> str:
        account_id = unique("acct")
        response = client.post(
            "/v1/accounts", json={"id": account_id, "currency": currency, "flags": flags}
        )
        assert response.status_code == 201, response.text
        return account_id

    return open_account


def post(client: TestClient, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post("/v1/transfers", json=body)
    return response.status_code, response.json()


def test_transfer_created_and_balances_move(
    client: TestClient, accounts: Callable[..., str], unique: Ids
) -> None:
    a, b = accounts(), accounts()
    tid = unique("t")
    status, body = post(client, id=tid, debit_account_id=a, credit_account_id=b, amount=250)
    assert status == 201
    assert body["status"] == "posted" and body["currency"] == "USD" and body["amount"] == 250
    assert client.get(f"/v1/accounts/{a}").json()["balance"] == -250
    assert client.get(f"/v1/accounts/{b}").json()["balance"] == 250


def test_identical_replay_is_200_and_moves_nothing(
    client: TestClient, accounts: Callable[..., str], unique: Ids
) -> None:
    a, b = accounts(), accounts()
    body = {"id": unique("t"), "debit_account_id": a, "credit_account_id": b, "amount": 5}
    first = client.post("/v1/transfers", json=body)
    replay = client.post("/v1/transfers", json=body)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json() == first.json()
    assert client.get(f"/v1/accounts/{b}").json()["balance"] == 5


def test_changed_body_under_used_id_is_409(
    client: TestClient, accounts: Callable[..., str], unique: Ids
) -> None:
    a, b = accounts(), accounts()
    tid = unique("t")
    post(client, id=tid, debit_account_id=a, credit_account_id=b, amount=5)
    status, body = post(client, id=tid, debit_account_id=a, credit_account_id=b, amount=6)
    assert status == 409 and body["code"] == "idempotency_conflict"


def test_missing_account_is_404(
    client: TestClient, accounts: Callable[..., str], unique: Ids
) -> None:
    status, body = post(
        client, id=unique("t"), debit_account_id=accounts(), credit_account_id="ghost", amount=1
    )
    assert status == 404 and body["code"] == "account_not_found"


def test_same_account_is_422(client: TestClient, accounts: Callable[..., str], unique: Ids) -> None:
    a = accounts()
    status, body = post(client, id=unique("t"), debit_account_id=a, credit_account_id=a, amount=1)
    assert status == 422 and body["code"] == "same_account"


def test_currency_mismatch_is_422(
    client: TestClient, accounts: Callable[..., str], unique: Ids
) -> None:
    status, body = post(
        client, id=unique("t"), debit_account_id=accounts(), credit_account_id=accounts("EUR"),
        amount=1,
    )  # fmt: skip
    assert status == 422 and body["code"] == "currency_mismatch"


def test_insufficient_funds_is_409_and_changes_nothing(
    client: TestClient, accounts: Callable[..., str], unique: Ids
) -> None:
    wallet, other = accounts(debits_must_not_exceed_credits=True), accounts()
    status, body = post(
        client, id=unique("t"), debit_account_id=wallet, credit_account_id=other, amount=1
    )
    assert status == 409 and body["code"] == "insufficient_funds"
    assert client.get(f"/v1/accounts/{wallet}").json()["version"] == 0


def test_failed_transfer_id_can_be_used_once_funds_arrive(
    client: TestClient, accounts: Callable[..., str], unique: Ids
) -> None:
    wallet, source = accounts(debits_must_not_exceed_credits=True), accounts()
    tid = unique("t")
    assert (
        post(client, id=tid, debit_account_id=wallet, credit_account_id=source, amount=3)[0] == 409
    )
    post(client, id=unique("t"), debit_account_id=source, credit_account_id=wallet, amount=3)
    assert (
        post(client, id=tid, debit_account_id=wallet, credit_account_id=source, amount=3)[0] == 201
    )


def test_get_transfer(client: TestClient, accounts: Callable[..., str], unique: Ids) -> None:
    tid = unique("t")
    _, created = post(
        client, id=tid, debit_account_id=accounts(), credit_account_id=accounts(), amount=9,
        metadata={"invoice": "INV-1"},
    )  # fmt: skip
    response = client.get(f"/v1/transfers/{tid}")
    assert response.status_code == 200 and response.json() == created


def test_get_missing_transfer_is_404(client: TestClient) -> None:
    response = client.get("/v1/transfers/nope")
    assert response.status_code == 404 and response.json()["code"] == "transfer_not_found"


@pytest.mark.parametrize("amount", [0, -5, 2**63, 1.5, "7", None])
def test_bad_amount_is_422(client: TestClient, amount: object) -> None:
    response = client.post(
        "/v1/transfers",
        json={"id": "t-x", "debit_account_id": "a", "credit_account_id": "b", "amount": amount},
    )
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_transfer_without_id_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/transfers", json={"debit_account_id": "a", "credit_account_id": "b", "amount": 1}
    )
    assert response.status_code == 422


def test_entries_newest_first_with_pagination(
    client: TestClient, accounts: Callable[..., str], unique: Ids
) -> None:
    a, b = accounts(), accounts()
    tids = [unique("t") for _ in range(5)]
    for n, tid in enumerate(tids, start=1):
        post(client, id=tid, debit_account_id=a, credit_account_id=b, amount=n)
    first = client.get(f"/v1/accounts/{b}/entries", params={"page_size": 3}).json()
    rest = client.get(
        f"/v1/accounts/{b}/entries", params={"page_token": first["next_page_token"]}
    ).json()
    entries = first["items"] + rest["items"]
    assert [e["sequence"] for e in entries] == [5, 4, 3, 2, 1]
    assert [e["transfer_id"] for e in entries] == tids[::-1]
    assert [e["balance_after"] for e in entries] == [15, 10, 6, 3, 1]
    assert rest["next_page_token"] is None
    debits = client.get(f"/v1/accounts/{a}/entries").json()["items"]
    assert [e["amount"] for e in debits] == [-5, -4, -3, -2, -1]


def test_entries_of_missing_account_is_404(client: TestClient) -> None:
    response = client.get("/v1/accounts/ghost/entries")
    assert response.status_code == 404 and response.json()["code"] == "account_not_found"
