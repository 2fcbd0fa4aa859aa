"""GET /v1/transfers: filters, newest first, signed keyset pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

Ids = Callable[[str], str]

pytestmark = pytest.mark.emulator


def open_accounts(client: TestClient, *ids: str) -> None:
    for account_id in ids:
        response = client.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
        assert response.status_code == 201, response.text


def move(client: TestClient, tid: str, debit: str, credit: str, amount: int, **extra: Any) -> Any:
    body = {"id": tid, "debit_account_id": debit, "credit_account_id": credit, "amount": amount}
    response = client.post("/v1/transfers", json={**body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def query(client: TestClient, **params: Any) -> Any:
    return client.get("/v1/transfers", params=params)


def every_page(client: TestClient, **params: Any) -> list[str]:
    ids: list[str] = []
    token = None
    for _ in range(50):
        page = query(client, **params, **({"page_token": token} if token else {}))
        assert page.status_code == 200, page.text
        ids += [t["id"] for t in page.json()["items"]]
        token = page.json()["next_page_token"]
        if token is None:
            return ids
    raise AssertionError("pagination did not end")


@pytest.fixture
def ledger(client: TestClient, unique: Ids) -> dict[str, Any]:
    """alice and bob exchange five transfers (one a hold); carol is elsewhere."""
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    open_accounts(client, alice, bob, carol)
    made = [
        move(client, unique("t0"), alice, bob, 10),
        move(client, unique("t1"), bob, alice, 3),
        move(client, unique("t2"), alice, carol, 7),
        move(client, unique("t3"), alice, bob, 5, pending=True),
        move(client, unique("t4"), carol, bob, 1),
    ]
    return {"alice": alice, "bob": bob, "carol": carol, "made": made}


def test_by_account_either_side_newest_first(client: TestClient, ledger: dict[str, Any]) -> None:
    ids = [t["id"] for t in ledger["made"]]
    assert every_page(client, account_id=ledger["alice"]) == [ids[3], ids[2], ids[1], ids[0]]
    assert every_page(client, account_id=ledger["bob"], page_size=2) == [
        ids[4], ids[3], ids[1], ids[0],
    ]  # fmt: skip


def test_by_account_and_status(client: TestClient, ledger: dict[str, Any]) -> None:
    ids = [t["id"] for t in ledger["made"]]
    assert every_page(client, account_id=ledger["alice"], status="pending") == [ids[3]]
    posted = every_page(client, account_id=ledger["alice"], status="posted", page_size=1)
    assert posted == [ids[2], ids[1], ids[0]]


def test_by_account_and_creation_time(client: TestClient, ledger: dict[str, Any]) -> None:
    made = ledger["made"]
    found = every_page(
        client,
        account_id=ledger["alice"],
        created_from=made[1]["created_at"],
        created_to=made[3]["created_at"],
    )
    assert found == [made[2]["id"], made[1]["id"]]


def test_by_creation_time_across_the_ledger(fresh_client: TestClient, unique: Ids) -> None:
    a, b = unique("a"), unique("b")
    open_accounts(fresh_client, a, b)
    made = [move(fresh_client, unique(f"t{i}"), a, b, i + 1) for i in range(7)]
    newest_first = [t["id"] for t in reversed(made)]
    assert every_page(fresh_client, page_size=3) == newest_first
    window = every_page(
        fresh_client, created_from=made[2]["created_at"], created_to=made[5]["created_at"]
    )
    assert window == newest_first[2:5]


def test_many_transfers_of_one_commit_page_without_gaps_or_repeats(
    fresh_client: TestClient, unique: Ids
) -> None:
    a, b = unique("a"), unique("b")
    open_accounts(fresh_client, a, b)
    items = [
        {"id": unique("t"), "debit_account_id": a, "credit_account_id": b, "amount": 1}
        for _ in range(25)
    ]
    response = fresh_client.post("/v1/transfers:batch", json={"transfers": items, "atomic": True})
    assert response.status_code == 200, response.text
    found = every_page(fresh_client, page_size=4)
    assert sorted(found) == sorted(i["id"] for i in items)
    assert len(found) == len(set(found))


def test_by_transaction(client: TestClient, ledger: dict[str, Any], unique: Ids) -> None:
    tid = unique("tx")
    legs = [
        {"debit_account_id": ledger["alice"], "credit_account_id": ledger["bob"], "amount": 2},
        {"debit_account_id": ledger["bob"], "credit_account_id": ledger["carol"], "amount": 1},
    ]
    assert client.post("/v1/transactions", json={"id": tid, "legs": legs}).status_code == 201
    assert every_page(client, transaction_id=tid) == [f"{tid}~1", f"{tid}~0"]
    assert every_page(client, transaction_id=tid, account_id=ledger["carol"]) == [f"{tid}~1"]
    assert every_page(client, transaction_id=unique("none")) == []


def test_a_token_from_another_query_is_422(client: TestClient, ledger: dict[str, Any]) -> None:
    token = query(client, account_id=ledger["alice"], page_size=1).json()["next_page_token"]
    other = query(client, account_id=ledger["bob"], page_size=1, page_token=token)
    assert (other.status_code, other.json()["code"]) == (422, "invalid_page_token")


@pytest.mark.parametrize("forged", ["x", "eyJ4Ijox.AAAA", "W10.AAAAAAAAAAAAAAAAAAAAAA", "..."])
def test_a_forged_token_is_422(client: TestClient, ledger: dict[str, Any], forged: str) -> None:
    for params in ({"account_id": ledger["alice"]}, {}):
        response = query(client, page_token=forged, **params)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_page_token")


def test_an_altered_token_is_422(client: TestClient, ledger: dict[str, Any]) -> None:
    token = query(client, account_id=ledger["alice"], page_size=1).json()["next_page_token"]
    payload, mac = token.split(".")
    altered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + mac
    response = query(client, account_id=ledger["alice"], page_size=1, page_token=altered)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_page_token")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"acount_id": "x"}, "validation_error"),
        ({"label.customer": "c-1", "typo": "1"}, "validation_error"),
        ({"status": "lost"}, "validation_error"),
        ({"created_from": "2026-12-01T10:00:00Z", "created_to": "2026-12-01T09:00:00Z"},
         "invalid_time_range"),
        ({"created_from": "2026-12-01T10:00:00"}, "validation_error"),
        ({"created_to": "not a time"}, "validation_error"),
        ({"account_id": "bad id!"}, "validation_error"),
        ({"page_size": "0"}, "validation_error"),
    ],
)  # fmt: skip
def test_bad_queries_are_422(client: TestClient, params: dict[str, str], code: str) -> None:
    response = query(client, **params)
    assert (response.status_code, response.json()["code"]) == (422, code), response.text


def test_an_unknown_account_is_404(client: TestClient, unique: Ids) -> None:
    response = query(client, account_id=unique("nobody"))
    assert (response.status_code, response.json()["code"]) == (404, "account_not_found")
