"""GET /v1/events over a real pipeline process: what each change becomes, in commit
order, with a cursor that resumes and a complete_until that means it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledger_client import LedgerClient

from tests.events.conftest import Ledger


def _types_of(items: list[dict[str, Any]], subject: str) -> list[str]:
    return [e["type"] for e in items if e["data"].get("id") == subject]


def _open(ledger: Ledger, *ids: str) -> None:
    for account_id in ids:
        assert (
            ledger.http.post("/v1/accounts", json={"id": account_id, "currency": "USD"}).status_code
            == 201
        )


def _transfer(ledger: Ledger, transfer_id: str, **extra: Any) -> None:
    body = {"id": transfer_id, "debit_account_id": "a", "credit_account_id": "b", "amount": 10}
    response = ledger.http.post("/v1/transfers", json={**body, **extra})
    assert response.status_code == 201, response.text


def test_every_kind_of_change_becomes_its_event(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    _open(ledger, "a", "b")
    _transfer(ledger, "t-plain")
    _transfer(ledger, "t-hold", pending=True)
    _transfer(ledger, "t-void", pending=True)
    assert ledger.http.post("/v1/transfers/t-hold:post", json={}).status_code == 200
    assert ledger.http.post("/v1/transfers/t-void:void", json={}).status_code == 200
    assert (
        ledger.http.post("/v1/transfers/t-plain:reverse", json={"id": "t-back"}).status_code == 201
    )
    legs = [{"debit_account_id": "a", "credit_account_id": "b", "amount": 1}] * 2
    assert ledger.http.post("/v1/transactions", json={"id": "tx", "legs": legs}).status_code == 201
    assert ledger.http.post("/v1/accounts/a:close").status_code == 200

    items = ledger.wait_for(lambda items: any(e["type"] == "account.closed" for e in items))

    assert _types_of(items, "a") == ["account.opened", "account.closed"]
    assert _types_of(items, "t-plain") == ["transfer.created", "transfer.reversed"]
    assert _types_of(items, "t-hold") == ["transfer.created", "transfer.posted"]
    assert _types_of(items, "t-void") == ["transfer.created", "transfer.voided"]
    assert _types_of(items, "t-back") == ["transfer.created"]
    assert _types_of(items, "tx") == ["transaction.created"]
    assert _types_of(items, "tx~0") == _types_of(items, "tx~1") == ["transfer.created"]


def test_an_event_carries_the_resource_as_the_api_returns_it(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    _open(ledger, "a", "b")
    _transfer(ledger, "t1", metadata={"order": "o-1"})

    items = ledger.wait_for(lambda items: any(e["type"] == "transfer.created" for e in items))

    event = next(e for e in items if e["type"] == "transfer.created")
    assert event["data"] == ledger.http.get("/v1/transfers/t1").json()
    assert event["account_ids"] == ["a", "b"]
    assert event["occurred_at"] == event["data"]["created_at"].replace("+00:00", "Z")


def test_events_come_in_commit_order(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    _open(ledger, "a", "b")
    for i in range(12):
        _transfer(ledger, f"t{i:02d}")

    items = ledger.wait_for(lambda items: len(items) >= 14)

    created = [e["data"]["id"] for e in items if e["type"] == "transfer.created"]
    assert created == [f"t{i:02d}" for i in range(12)]
    stamps = [datetime.fromisoformat(e["occurred_at"]) for e in items]
    assert stamps == sorted(stamps)


def test_the_cursor_resumes_where_the_last_page_ended(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    _open(ledger, "a", "b")
    for i in range(7):
        _transfer(ledger, f"t{i}")
    everything = ledger.wait_for(lambda items: len(items) >= 9)

    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"after": cursor} if cursor else {})}
        page = ledger.http.get("/v1/events", params=params).json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if not page["items"]:
            break

    assert [e["id"] for page in pages for e in page] == [e["id"] for e in everything]


def test_complete_until_covers_every_event_served(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    _open(ledger, "a", "b")
    _transfer(ledger, "t1")
    ledger.wait_for(lambda items: len(items) >= 3)

    page = ledger.http.get("/v1/events").json()

    until = datetime.fromisoformat(page["complete_until"])
    assert all(datetime.fromisoformat(e["occurred_at"]) <= until for e in page["items"])


def test_a_caught_up_cursor_returns_an_empty_page_and_a_cursor(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    _open(ledger, "a")
    ledger.wait_for(lambda items: len(items) == 1)
    cursor = ledger.http.get("/v1/events").json()["next_cursor"]

    page = ledger.http.get("/v1/events", params={"after": cursor}).json()

    assert page["items"] == []
    assert page["next_cursor"]


def test_before_the_relay_ever_ran_the_feed_is_empty(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()

    page = ledger.http.get("/v1/events").json()

    assert page == {"items": [], "next_cursor": "start", "complete_until": None, "starts_at": None}


def test_a_malformed_cursor_is_a_422(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()

    response = ledger.http.get("/v1/events", params={"after": "not-a-cursor!"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


def test_an_unknown_parameter_is_a_422(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()

    response = ledger.http.get("/v1/events", params={"account_id": "a"})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_the_python_client_tails_the_real_feed(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    _open(ledger, "a", "b")
    _transfer(ledger, "t1")
    expected = [e["id"] for e in ledger.wait_for(lambda items: len(items) >= 3)]

    with LedgerClient(ledger.server.url) as client:
        tailed = [e.id for e in client.tail_events(limit=2, follow=False)]

    assert tailed == expected
