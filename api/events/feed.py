"""The pull feed: events in commit order after a cursor, never past the watermark, never
from behind what the feed still holds.

Serving only up to the watermark is what makes the cursor safe: an event still in
flight from a slow partition commits before the watermark moves past it, so it can
never land behind a cursor a consumer already holds. Refusing a cursor from before the
feed's start is what makes the other end safe: events older than the retention are
deleted, and events from before an accepted gap were never captured, so reading on
from such a cursor would skip them without a word.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.context import RequestContext
from api.errors import LedgerError
from api.events import repository
from api.events.model import TICK, Event, Place, decode_cursor, encode_cursor, rfc3339
from api.events.repository import FeedBounds
from api.events.schemas import EventOut, EventPage
from api.spanner.tx import Tx
from api.storage import DatabaseHandles

START = "start"  # the cursor of the beginning of the feed
# Events' row deletion policy (spanner_ddl/0011_events.sql): older events may be gone.
EVENTS_RETENTION = timedelta(days=30)


class CursorExpired(LedgerError):
    status = 410
    code = "cursor_expired"
    title = "Cursor expired"


@dataclass(frozen=True)
class Gap:
    """A reader stood at ``after``, before ``starts_at``: what lay between is not served."""

    after: Place
    starts_at: datetime
    reason: str

    def describe(self) -> str:
        return (
            f"events committed between {rfc3339(self.after.commit_timestamp)} and "
            f"{rfc3339(self.starts_at)} are not in the feed ({self.reason})"
        )


@dataclass(frozen=True)
class Served:
    """What a reader of Events gets at once: the events, the watermark they were read up
    to, where its next read starts (None: from the beginning), where the feed begins,
    and the gap between the reader's place and that beginning, if it fell behind."""

    events: list[Event]
    until: datetime | None
    next: Place | None  # never None once events were served
    starts_at: datetime | None = None
    gap: Gap | None = None


def starts_at(bounds: FeedBounds) -> tuple[datetime | None, str]:
    """Where the feed begins now, and why there: where the relay began reading the stream,
    unless the retention of Events has deleted what came after."""
    if bounds.until is None:
        return None, "the relay has not run yet"
    horizon = bounds.now - EVENTS_RETENTION
    if bounds.starts_at is None or bounds.starts_at < horizon:
        return horizon, f"events are kept {EVENTS_RETENTION.days} days"
    return bounds.starts_at, f"the relay began reading there: {bounds.reason}"


def read_served(tx: Tx, *, after: Place | None, limit: int) -> Served:
    """The events after ``after``, at most ``limit``, never past the watermark nor before
    the feed's start: the one rule shared by the feed and every delivery."""
    bounds = repository.read_feed_bounds(tx)
    until = bounds.until
    begins, why = starts_at(bounds)
    if until is None or begins is None:
        return Served([], until, after)  # nothing served yet
    floor = Place(begins - TICK)  # after every event before the start
    gap = None
    if after is not None and after.key() < floor.key():
        gap = Gap(after, begins, why)
    if after is None or gap is not None:
        after = floor
    if after.commit_timestamp > until:
        return Served([], until, after, begins, gap)  # the cursor is ahead
    events = repository.read_events(tx, after=after, until=until, limit=limit)
    # A short page means every event up to the watermark was served.
    next_ = events[-1].place if len(events) == limit else Place(until)
    return Served(events, until, next_, begins, gap)


def read_feed(
    *, databases: DatabaseHandles, ctx: RequestContext, after: str | None, limit: int
) -> EventPage:
    place = decode_cursor(after) if after and after != START else None
    served, _ = databases.reader.read_consistent(
        functools.partial(read_served, after=place, limit=limit), budget=ctx.budget("events.list")
    )
    if served.gap is not None:
        raise CursorExpired(
            f"This cursor is from before the feed's start: {served.gap.describe()}. Read "
            f"again from after=start (the feed now starts at "
            f"{rfc3339(served.gap.starts_at)}) and reconcile what you missed from the "
            f"ledger's own reads."
        )
    moved = served.next is not None and served.next != place
    return EventPage(
        items=[EventOut.model_validate(e.to_json()) for e in served.events],
        next_cursor=encode_cursor(served.next) if moved and served.next else after or START,
        complete_until=served.until,
        starts_at=served.starts_at,
    )
