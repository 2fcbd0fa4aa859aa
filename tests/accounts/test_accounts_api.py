"""Accounts over real HTTP against the emulator."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def open_account(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/v1/accounts", json={"currency": "USD", **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_open_account_with_chosen_id(client: TestClient, unique: Callable[[str], str]) -> None:
    account_id = unique("acct")
    body = open_account(client, id=account_id, metadata={"owner": "alice"})
    assert body["id"] == account_id
    assert body["balance"] == 0 and body["version"] == 0
    assert body["metadata"] == {"owner": "alice"}
    assert body["created_at"] == body["updated_at"]


def test_open_account_without_id_generates_one(client: TestClient) -> None:
    first, second = open_account(client), open_account(client)
    assert first["id"] != second["id"]


def test_identical_replay_returns_200_with_same_account(
    client: TestClient, unique: Callable[[str], str]
) -> None:
    account_id = unique("acct")
    created = open_account(client, id=account_id)
    replay = client.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
    assert replay.status_code == 200
    assert replay.json() == created


def test_different_body_under_same_id_is_409(
    client: TestClient, unique: Callable[[str], str]
) -> None:
    account_id = unique("acct")
    open_account(client, id=account_id)
    response = client.post("/v1/accounts", json={"id": account_id, "currency": "EUR"})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "idempotency_conflict"


def test_get_account(client: TestClient, unique: Callable[[str], str]) -> None:
    created = open_account(client, id=unique("acct"))
    response = client.get(f"/v1/accounts/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


def test_get_missing_account_is_404_problem(client: TestClient) -> None:
    response = client.get("/v1/accounts/does-not-exist")
    assert response.status_code == 404
    problem = response.json()
    assert problem["code"] == "account_not_found"
    assert {"type", "title", "status", "detail", "code"} <= problem.keys()


@pytest.mark.parametrize(
    "body",
    [
        {"currency": "usd"},
        {"currency": "USD", "id": "has space"},
        {"currency": "USD", "id": "x" * 65},
        {"currency": "USD", "id": "a:post"},
        {"currency": "USD", "unknown": 1},
        {"currency": "USD", "flags": {"debits_must_not_exceed_credits": True,
                                      "credits_must_not_exceed_debits": True}},
        {"currency": "USD", "metadata": ["not", "an", "object"]},
        {},
    ],
)  # fmt: skip
def test_invalid_account_body_is_422(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/v1/accounts", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_oversized_metadata_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/accounts", json={"currency": "USD", "metadata": {"blob": "x" * 5000}}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/accounts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_list_pages_through_every_account_once(fresh_client: TestClient) -> None:
    opened = {open_account(fresh_client, id=f"acct-{i:03d}")["id"] for i in range(7)}
    seen: list[str] = []
    token = None
    while True:
        params: dict[str, str | int] = {"page_size": 3}
        if token:
            params["page_token"] = token
        page = fresh_client.get("/v1/accounts", params=params).json()
        seen += [a["id"] for a in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert sorted(seen) == sorted(opened)


def test_a_list_page_token_is_bound_to_its_filters_and_cannot_be_forged(
    fresh_client: TestClient,
) -> None:
    for i in range(3):
        open_account(fresh_client, id=f"eur-{i}", currency="EUR")
    page = fresh_client.get("/v1/accounts", params={"page_size": 1, "currency": "EUR"}).json()
    token = page["next_page_token"]
    unsigned = base64.urlsafe_b64encode(b'[0,"eur-0"]').decode().rstrip("=")
    for params in (
        {"page_size": 1, "page_token": token},  # the same position, another query
        {"page_size": 1, "currency": "EUR", "page_token": unsigned},
    ):
        response = fresh_client.get("/v1/accounts", params=params)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_page_token")


def test_list_filters_by_currency(fresh_client: TestClient) -> None:
    open_account(fresh_client, id="usd-1")
    open_account(fresh_client, id="eur-1", currency="EUR")
    page = fresh_client.get("/v1/accounts", params={"currency": "EUR"}).json()
    assert [a["id"] for a in page["items"]] == ["eur-1"]
    assert page["next_page_token"] is None


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"page_size": 0}, "validation_error"),
        ({"page_size": 100000}, "validation_error"),
        ({"page_token": "garbage!"}, "invalid_page_token"),
    ],
)
def test_bad_list_parameters_are_422(
    client: TestClient, params: dict[str, object], code: str
) -> None:
    response = client.get("/v1/accounts", params=params)
    assert response.status_code == 422
    assert response.json()["code"] == code
