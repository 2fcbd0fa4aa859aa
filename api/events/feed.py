"""The pull feed: events in commit order after a cursor, never past the watermark.

Serving only up to the watermark is what makes the cursor safe: an event still in
flight from a slow partition commits before the watermark moves past it, so it can
never land behind a cursor a consumer already holds.
"""

from __future__ import annotations

from datetime import datetime

from api.context import RequestContext
from api.events import repository
from api.events.model import Event, Place, decode_cursor, encode_cursor
from api.events.schemas import EventOut, EventPage
from api.spanner.tx import Tx
from api.storage import DatabaseHandles

START = "start"  # the cursor of an empty feed with no watermark yet


def read_feed(
    *, databases: DatabaseHandles, ctx: RequestContext, after: str | None, limit: int
) -> EventPage:
    place = decode_cursor(after) if after and after != START else None

    def work(tx: Tx) -> tuple[datetime | None, list[Event]]:
        until = repository.complete_until(tx)
        if until is None or (place is not None and place.commit_timestamp > until):
            return until, []
        return until, repository.read_events(tx, after=place, until=until, limit=limit)

    (until, events), _ = databases.reader.read_consistent(work, call=ctx.call("events.list"))
    return EventPage(
        items=[EventOut.model_validate(e.to_json()) for e in events],
        next_cursor=_next_cursor(place, until, events, limit, after),
        complete_until=until,
    )


def _next_cursor(
    place: Place | None, until: datetime | None, events: list[Event], limit: int, after: str | None
) -> str:
    if len(events) == limit:
        return encode_cursor(events[-1].place)
    if until is None or (place is not None and place.commit_timestamp > until):
        return after or START
    return encode_cursor(Place(until))  # every event up to the watermark was served
