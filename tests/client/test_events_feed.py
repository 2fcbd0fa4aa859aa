"""The events feed in the client, against the contract of GET /v1/events.

The endpoint lands with the event relay; until then the feed is served here by an
httpx.MockTransport that follows the contract (items, next_cursor, complete_until,
starts_at; invalid_cursor as a 422 problem). Once main has api/events/, these move to the service.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from ledger_client import AsyncLedgerClient, BadRequest, LedgerClient

EVENTS = [
    {
        "id": f"evt_{n}",
        "type": "transfer.created",
        "occurred_at": f"2026-12-01T00:00:0{n}Z",
        "account_ids": ["a", "b"],
        "data": {"id": f"t-{n}", "amount": n},
    }
    for n in range(5)
]


def feed(request: httpx.Request) -> httpx.Response:
    after = request.url.params.get("after")
    limit = int(request.url.params.get("limit", "100"))
    if after is not None and not after.startswith("c"):
        return httpx.Response(
            422,
            json={
                "type": "x",
                "title": "t",
                "status": 422,
                "detail": "bad",
                "code": "invalid_cursor",
            },
        )
    start = int(after[1:]) if after else 0
    items = EVENTS[start : start + limit]
    body: dict[str, Any] = {
        "items": items,
        "next_cursor": f"c{start + len(items)}",
        "complete_until": "2026-12-01T00:00:10Z",
        "starts_at": "2026-12-01T00:00:00Z",
    }
    return httpx.Response(200, json=body)


def sync_client() -> LedgerClient:
    transport = httpx.MockTransport(feed)
    return LedgerClient(
        "http://ledger", http=httpx.Client(base_url="http://ledger", transport=transport)
    )


def test_a_page_of_events() -> None:
    page = sync_client().list_events(limit=2)
    assert [e.id for e in page.items] == ["evt_0", "evt_1"]
    assert page.next_cursor == "c2"


def test_tail_follows_the_cursor_to_the_end() -> None:
    events = list(sync_client().tail_events(limit=2, follow=False))
    assert [e.id for e in events] == [e["id"] for e in EVENTS]


def test_tail_resumes_after_a_cursor() -> None:
    events = list(sync_client().tail_events(after="c3", follow=False))
    assert [e.id for e in events] == ["evt_3", "evt_4"]


def test_a_malformed_cursor_is_a_problem() -> None:
    with pytest.raises(BadRequest) as caught:
        sync_client().list_events(after="garbage")
    assert caught.value.code == "invalid_cursor"


def test_async_tail() -> None:
    async def main() -> list[str]:
        http = httpx.AsyncClient(base_url="http://ledger", transport=httpx.MockTransport(feed))
        async with AsyncLedgerClient("http://ledger", http=http) as ledger:
            ids = [e.id async for e in ledger.tail_events(limit=3, follow=False)]
        await http.aclose()
        return ids

    assert asyncio.run(main()) == [e["id"] for e in EVENTS]


def test_an_event_type_the_client_does_not_know_yet_still_parses() -> None:
    from ledger_client.models import Event  # noqa: PLC0415

    event = Event.model_validate({**EVENTS[0], "type": "account.renamed"})

    assert event.type == "account.renamed"
