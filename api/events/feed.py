"""The pull feed: events in commit order after a cursor, never past the watermark.

Serving only up to the watermark is what makes the cursor safe: an event still in
flight from a slow partition commits before the watermark moves past it, so it can
never land behind a cursor a consumer already holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from api.context import RequestContext
from api.events import repository
from api.events.model import Event, Place, decode_cursor, encode_cursor
from api.events.schemas import EventOut, EventPage
from api.spanner.tx import Tx
from api.storage import DatabaseHandles

START = "start"  # the cursor of an empty feed with no watermark yet


@dataclass(frozen=True)
class Served:
    """What a reader of Events gets at once: the events, the watermark they were read up
    to, and where its next read starts (None: from the beginning)."""

    events: list[Event]
    until: datetime | None
    next: Place | None  # never None once events were served


def read_served(tx: Tx, *, after: Place | None, limit: int) -> Served:
    """The events after ``after``, at most ``limit``, never past the watermark: the one
    rule shared by the feed and every delivery."""
    until = repository.complete_until(tx)
    if until is None or (after is not None and after.commit_timestamp > until):
        return Served([], until, after)  # nothing served yet, or the cursor is ahead
    events = repository.read_events(tx, after=after, until=until, limit=limit)
    # A short page means every event up to the watermark was served.
    return Served(events, until, events[-1].place if len(events) == limit else Place(until))


def read_feed(
    *, databases: DatabaseHandles, ctx: RequestContext, after: str | None, limit: int
) -> EventPage:
    place = decode_cursor(after) if after and after != START else None
    served, _ = databases.reader.read_consistent(
        functools.partial(read_served, after=place, limit=limit), call=ctx.call("events.list")
    )
    moved = served.next is not None and served.next != place
    return EventPage(
        items=[EventOut.model_validate(e.to_json()) for e in served.events],
        next_cursor=encode_cursor(served.next) if moved and served.next else after or START,
        complete_until=served.until,
    )
