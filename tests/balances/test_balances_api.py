"""Balances from one snapshot, over real HTTP against the emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient


def test_balances_in_request_order_with_read_timestamp(
    client: TestClient, unique: Callable[[str], str]
) -> None:
    a, b = unique("acct"), unique("acct")
    for account_id in (a, b):
        client.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
    client.post(
        "/v1/transfers",
        json={"id": unique("t"), "debit_account_id": a, "credit_account_id": b, "amount": 40},
    )
    response = client.get("/v1/balances", params={"account_ids": f"{b},{a}"})
    assert response.status_code == 200
    body = response.json()
    assert [(x["account_id"], x["balance"]) for x in body["balances"]] == [(b, 40), (a, -40)]
    assert datetime.fromisoformat(body["read_timestamp"])


def test_unknown_account_is_404(client: TestClient, unique: Callable[[str], str]) -> None:
    known = unique("acct")
    client.post("/v1/accounts", json={"id": known, "currency": "USD"})
    response = client.get("/v1/balances", params={"account_ids": f"{known},ghost-1"})
    assert response.status_code == 404
    assert response.json()["code"] == "account_not_found"
    assert "ghost-1" in response.json()["detail"]


def test_too_many_ids_is_422(client: TestClient) -> None:
    ids = ",".join(f"a{i}" for i in range(101))
    response = client.get("/v1/balances", params={"account_ids": ids})
    assert response.status_code == 422


def test_invalid_id_is_422(client: TestClient) -> None:
    response = client.get("/v1/balances", params={"account_ids": "ok,not ok"})
    assert response.status_code == 422


def test_empty_list_is_422(client: TestClient) -> None:
    response = client.get("/v1/balances", params={"account_ids": " , "})
    assert response.status_code == 422
