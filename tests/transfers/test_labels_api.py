"""Labels on accounts and transfers: set at creation, returned, and queried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.ids import MAX_LABELS

Ids = Callable[[str], str]

pytestmark = pytest.mark.emulator


def open_account(client: TestClient, account_id: str, **body: Any) -> Any:
    response = client.post("/v1/accounts", json={"id": account_id, "currency": "USD", **body})
    assert response.status_code == 201, response.text
    return response.json()


def move(client: TestClient, tid: str, debit: str, credit: str, **extra: Any) -> Any:
    body = {"id": tid, "debit_account_id": debit, "credit_account_id": credit, "amount": 1}
    return client.post("/v1/transfers", json={**body, **extra})


def ids_of(client: TestClient, path: str, **params: Any) -> list[str]:
    found: list[str] = []
    token = None
    while True:
        page = client.get(path, params={**params, **({"page_token": token} if token else {})})
        assert page.status_code == 200, page.text
        found += [item["id"] for item in page.json()["items"]]
        token = page.json()["next_page_token"]
        if token is None:
            return found


@pytest.fixture
def pair(client: TestClient, unique: Ids) -> tuple[str, str]:
    a, b = unique("a"), unique("b")
    open_account(client, a)
    open_account(client, b)
    return a, b


def test_a_transfer_keeps_its_labels(
    client: TestClient, pair: tuple[str, str], unique: Ids
) -> None:
    tid = unique("t")
    made = move(client, tid, *pair, labels={"customer": "c-1", "channel": "web"})
    assert made.status_code == 201, made.text
    assert made.json()["labels"] == {"customer": "c-1", "channel": "web"}
    assert client.get(f"/v1/transfers/{tid}").json()["labels"] == {
        "customer": "c-1",
        "channel": "web",
    }
    changed = move(client, tid, *pair, labels={"customer": "c-2"})
    assert (changed.status_code, changed.json()["code"]) == (409, "idempotency_conflict")


def test_transfers_by_label_newest_first_and_anded(fresh_client: TestClient, unique: Ids) -> None:
    client = fresh_client
    a, b = unique("a"), unique("b")
    open_account(client, a)
    open_account(client, b)
    made = []
    for i in range(6):
        labels = {"customer": "c-1" if i % 2 == 0 else "c-2", "channel": "web" if i < 3 else "pos"}
        tid = unique(f"t{i}")
        assert move(client, tid, a, b, labels=labels).status_code == 201
        made.append(tid)
    assert move(client, unique("plain"), a, b).status_code == 201
    assert ids_of(client, "/v1/transfers", **{"label.customer": "c-1"}) == [
        made[4],
        made[2],
        made[0],
    ]
    assert ids_of(client, "/v1/transfers", **{"label.customer": "c-1", "label.channel": "pos"}) == [
        made[4]
    ]
    assert ids_of(client, "/v1/transfers", **{"label.customer": "c-2", "page_size": 1}) == [
        made[5], made[3], made[1],
    ]  # fmt: skip
    with_account = ids_of(client, "/v1/transfers", account_id=a, **{"label.channel": "web"})
    assert with_account == [made[2], made[1], made[0]]
    assert ids_of(client, "/v1/transfers", **{"label.customer": "nobody"}) == []


def test_legs_have_the_transactions_labels_and_their_own(
    client: TestClient, pair: tuple[str, str], unique: Ids
) -> None:
    a, b = pair
    tid = unique("tx")
    legs = [
        {"debit_account_id": a, "credit_account_id": b, "amount": 5, "labels": {"part": "goods"}},
        {"debit_account_id": a, "credit_account_id": b, "amount": 1, "labels": {"order": "o-9"}},
    ]
    response = client.post(
        "/v1/transactions", json={"id": tid, "legs": legs, "labels": {"order": "o-1"}}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["labels"] == {"order": "o-1"}
    assert [g["labels"] for g in body["legs"]] == [
        {"order": "o-1", "part": "goods"},
        {"order": "o-9"},
    ]
    assert ids_of(client, "/v1/transfers", **{"label.order": "o-1"}) == [f"{tid}~0"]


def test_a_reversal_has_its_originals_labels(
    client: TestClient, pair: tuple[str, str], unique: Ids
) -> None:
    tid, rid = unique("t"), unique("r")
    customer = unique("c")
    assert move(client, tid, *pair, labels={"customer": customer}).status_code == 201
    reversal = client.post(f"/v1/transfers/{tid}:reverse", json={"id": rid})
    assert reversal.json()["labels"] == {"customer": customer}
    assert ids_of(client, "/v1/transfers", **{"label.customer": customer}) == [rid, tid]


def test_accounts_by_label(client: TestClient, unique: Ids) -> None:
    team = unique("team")
    ours = [unique("x"), unique("y")]
    for account_id in ours:
        open_account(client, account_id, labels={"team": team, "kind": "wallet"})
    open_account(client, unique("z"), labels={"team": team, "kind": "fees"})
    assert open_account(client, unique("w"))["labels"] == {}
    assert sorted(
        ids_of(client, "/v1/accounts", **{"label.team": team, "label.kind": "wallet"})
    ) == sorted(ours)
    assert len(ids_of(client, "/v1/accounts", **{"label.team": team, "page_size": 1})) == 3


@pytest.mark.parametrize(
    "labels",
    [
        {f"k{i}": "v" for i in range(MAX_LABELS + 1)},
        {"Upper": "v"},
        {"1st": "v"},
        {"k": ""},
        {"k": "has space"},
        {"k": "x" * 129},
        {"k" * 64: "v"},
        {"k": 1},
    ],
)
def test_bad_labels_are_422_and_nothing_is_written(
    client: TestClient, pair: tuple[str, str], unique: Ids, labels: dict[str, Any]
) -> None:
    tid = unique("t")
    response = move(client, tid, *pair, labels=labels)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert client.get(f"/v1/transfers/{tid}").status_code == 404
    account = client.post("/v1/accounts", json={"currency": "USD", "labels": labels})
    assert account.status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"label.Bad": "v"},
        {"label.k": "bad value"},
        {"label.": "v"},
        {f"label.k{i}": "v" for i in range(MAX_LABELS + 1)},
    ],
)
def test_bad_label_filters_are_422(client: TestClient, params: dict[str, str]) -> None:
    for path in ("/v1/transfers", "/v1/accounts"):
        response = client.get(path, params=params)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error"), path
