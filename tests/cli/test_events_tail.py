"""``ledger events tail`` prints the feed in order, one line per event.

GET /v1/events lands with the event relay; until then the feed is served by an
httpx.MockTransport that follows its contract (the rest of the CLI runs against the
real service, tests/cli/test_cli.py).
"""

from __future__ import annotations

import io
import json

import httpx
from ledger_client.cli.main import parser
from ledger_client.client import LedgerClient

EVENTS = [
    {
        "id": f"evt_{n}",
        "type": "account.opened",
        "occurred_at": f"2026-12-01T00:00:0{n}Z",
        "account_ids": [f"acct-{n}"],
        "data": {"id": f"acct-{n}"},
    }
    for n in range(3)
]


def feed(request: httpx.Request) -> httpx.Response:
    start = int(request.url.params.get("after", "0"))
    items = EVENTS[start : start + 2]
    return httpx.Response(
        200,
        json={
            "items": items,
            "next_cursor": str(start + len(items)),
            "complete_until": "2026-12-01T00:00:09Z",
            "starts_at": "2026-12-01T00:00:00Z",
        },
    )


def tail(*flags: str) -> list[str]:
    args = parser().parse_args([*flags, "events", "tail", "--no-follow"])
    http = httpx.Client(base_url="http://ledger", transport=httpx.MockTransport(feed))
    out = io.StringIO()
    args.run(LedgerClient("http://ledger", http=http), args, out)
    return out.getvalue().splitlines()


def test_one_line_per_event_in_order() -> None:
    lines = tail()
    assert [line.split()[2] for line in lines] == ["evt_0", "evt_1", "evt_2"]
    assert lines[0].split()[1] == "account.opened"


def test_json_lines() -> None:
    assert [json.loads(line)["id"] for line in tail("--json")] == ["evt_0", "evt_1", "evt_2"]
