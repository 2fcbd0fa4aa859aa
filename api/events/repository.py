"""The only place that reads or writes the change stream and the Events tables."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.cloud import spanner
from google.cloud.spanner_v1 import param_types
from google.cloud.spanner_v1.database import Database

from api.events.model import EVENT_SHARDS, Event, Place
from api.events.records import Record, named, parse_change_record
from api.spanner.deadlines import bounded_by
from api.spanner.tx import Tx
from api.spanner.values import json_from_column, json_to_column

CHANGE_STREAM = "LedgerChanges"
EVENT_COLUMNS = ("Shard", "CommitTimestamp", "Position", "EventId", "Type", "AccountIds", "Data")
PARTITION_COLUMNS = (
    "PartitionToken", "ParentTokens", "StartTimestamp", "Watermark", "Finished", "UpdatedAt",
)  # fmt: skip

_READ_STREAM = (  # a constant name; every value is a parameter
    f"SELECT ChangeRecord FROM READ_{CHANGE_STREAM}("  # noqa: S608
    "start_timestamp => @start, end_timestamp => @end, partition_token => @token, "
    "heartbeat_milliseconds => @heartbeat)"
)


def read_change_stream(
    database: Database,
    *,
    token: str | None,
    start: datetime,
    end: datetime | None,
    heartbeat_ms: int,
    timeout_seconds: float,
) -> Generator[list[Record], None, None]:
    """The records of one partition (``token`` None: the initial query, which returns
    the first partitions), as they arrive, until ``end`` or the partition ends."""
    # Longer than any request's budget: a window's query streams for the whole window.
    with bounded_by(time.monotonic() + timeout_seconds), database.snapshot() as snapshot:
        result = snapshot.execute_sql(
            _READ_STREAM,
            params={"start": start, "end": end, "token": token, "heartbeat": heartbeat_ms},
            param_types={
                "start": param_types.TIMESTAMP,
                "end": param_types.TIMESTAMP,
                "token": param_types.STRING,
                "heartbeat": param_types.INT64,
            },
            timeout=timeout_seconds,
        )
        change_type = None
        for row in result:
            if change_type is None:
                change_type = result.fields[0].type_
            yield parse_change_record(named(row[0], change_type))


@dataclass(frozen=True)
class Partition:
    token: str
    parent_tokens: tuple[str, ...]
    start_timestamp: datetime
    watermark: datetime
    finished: bool

    @property
    def resume_at(self) -> datetime:
        return max(self.start_timestamp, self.watermark)


def read_partitions(tx: Tx) -> list[Partition]:
    columns = ", ".join(PARTITION_COLUMNS)
    rows = tx.query(f"SELECT {columns} FROM EventPartitions")  # noqa: S608 - constants
    return [
        Partition(
            token=r["PartitionToken"],
            parent_tokens=tuple(r["ParentTokens"] or ()),
            start_timestamp=r["StartTimestamp"],
            watermark=r["Watermark"],
            finished=r["Finished"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class FeedBounds:
    """What the relay has stored, read at ``now`` (Spanner's clock): every event committed
    in [``starts_at``, ``until``] is in Events (unless deleted by its retention). Both
    None before the relay first ran; ``reason`` says why the relay began at
    ``starts_at``."""

    now: datetime
    starts_at: datetime | None
    reason: str
    until: datetime | None


# A relay that first ran before EventFeedStarts existed began at its first partitions.
_FEED_BOUNDS = """SELECT CURRENT_TIMESTAMP() AS Now,
  COALESCE((SELECT MAX(StartsAt) FROM EventFeedStarts),
           (SELECT MIN(StartTimestamp) FROM EventPartitions)) AS StartsAt,
  (SELECT Reason FROM EventFeedStarts ORDER BY StartsAt DESC LIMIT 1) AS Reason,
  (SELECT MIN(Watermark) FROM EventPartitions WHERE Finished = FALSE) AS Until"""


def read_feed_bounds(tx: Tx) -> FeedBounds:
    """``until``: the least watermark of the partitions still being read; ``starts_at``:
    where the relay last began reading afresh (EventFeedStarts)."""
    row = tx.query(_FEED_BOUNDS)[0]
    return FeedBounds(
        now=row["Now"],
        starts_at=row["StartsAt"],
        reason=row["Reason"] or "the relay's first start",
        until=row["Until"],
    )


_STREAM_CLOCK = f"""SELECT CURRENT_TIMESTAMP() AS Now,
  (SELECT OPTION_VALUE FROM INFORMATION_SCHEMA.CHANGE_STREAM_OPTIONS
   WHERE CHANGE_STREAM_NAME = '{CHANGE_STREAM}' AND OPTION_NAME = 'retention_period'
  ) AS Retention"""  # noqa: S608 - a constant name


def read_stream_clock(tx: Tx) -> tuple[datetime, str | None]:
    """Spanner's time now, and the stream's retention period as declared ("7d")."""
    row = tx.query(_STREAM_CLOCK)[0]
    return row["Now"], row["Retention"]


def start_reading(
    tx: Tx, partitions: Sequence[Partition], *, starts_at: datetime, reason: str, first: bool
) -> bool:
    """Begin reading the stream afresh at ``starts_at`` with ``partitions``, and say so in
    EventFeedStarts. ``first``: only if nothing was ever read (two relays starting at once:
    one wins); otherwise every partition still open is closed, so the watermark moves on
    from the new start (an operator accepted the gap). False when another relay began."""
    existing = read_partitions(tx)
    if first and existing:
        return False
    fresh = {p.token for p in partitions}
    stale = [p.token for p in existing if not p.finished and p.token not in fresh]
    if stale:
        tx.update(
            "EventPartitions", ("PartitionToken", "Finished", "UpdatedAt"),
            [(token, True, spanner.COMMIT_TIMESTAMP) for token in stale],
        )  # fmt: skip
    # A token may come back (the emulator names its first partitions alike every time):
    # it is read afresh from the new start all the same.
    tx.insert_or_update(
        "EventPartitions", PARTITION_COLUMNS, [_partition_row(p) for p in partitions]
    )
    tx.insert_or_update(
        "EventFeedStarts", ("StartsAt", "Reason", "RecordedAt"),
        [(starts_at, reason[:2000], spanner.COMMIT_TIMESTAMP)],
    )  # fmt: skip
    return True


def add_partitions(tx: Tx, partitions: Sequence[Partition]) -> None:
    """Record partitions not already known (a merged child is reported by each parent;
    the first report wins, so a later one never moves its watermark back)."""
    if not partitions:
        return
    known = {
        r["PartitionToken"]
        for r in tx.read("EventPartitions", ("PartitionToken",), [(p.token,) for p in partitions])
    }
    fresh = {p.token: p for p in partitions if p.token not in known}
    tx.insert("EventPartitions", PARTITION_COLUMNS, [_partition_row(p) for p in fresh.values()])


def _partition_row(p: Partition) -> tuple[Any, ...]:
    return (
        p.token, list(p.parent_tokens), p.start_timestamp, p.watermark, p.finished,
        spanner.COMMIT_TIMESTAMP,
    )  # fmt: skip


def save_progress(
    tx: Tx, *, token: str, watermark: datetime, finished: bool, events: Iterable[Event]
) -> None:
    """The events read from a partition and how far it has been read, together: a
    watermark never passes an event that is not stored. Writing an event again (a
    partition re-read from its watermark) rewrites it unchanged.

    Progress only moves forward: a second relay still behind on the partition (a rollout
    overlaps two) neither moves its watermark back nor reopens it once finished."""
    tx.insert_or_update("Events", EVENT_COLUMNS, [_event_row(e) for e in events])
    stored = tx.read("EventPartitions", ("Watermark", "Finished"), [(token,)])
    if stored:
        watermark = max(watermark, stored[0]["Watermark"])
        finished = finished or stored[0]["Finished"]
    tx.update(
        "EventPartitions",
        ("PartitionToken", "Watermark", "Finished", "UpdatedAt"),
        [(token, watermark, finished, spanner.COMMIT_TIMESTAMP)],
    )


def _event_row(event: Event) -> tuple[Any, ...]:
    return (
        event.shard, event.commit_timestamp, event.position, event.id, event.type,
        list(event.account_ids), json_to_column(event.data),
    )  # fmt: skip


def read_events(tx: Tx, *, after: Place | None, until: datetime, limit: int) -> list[Event]:
    """At most ``limit`` events after ``after`` and at or before ``until``, in commit
    order: each shard's range read in key order, merged."""
    events: list[Event] = []
    for shard in range(EVENT_SHARDS):
        if after is None:
            start: list[Any] = [shard]
            start_open = False
        elif after.position is None:
            start, start_open = [shard, after.commit_timestamp], True
        else:
            start, start_open = [shard, after.commit_timestamp, after.position], True
        rows = tx.read_range(
            "Events", EVENT_COLUMNS, start=start, start_open=start_open,
            end=[shard, until], limit=limit,
        )  # fmt: skip
        events.extend(map(_event, rows))
    events.sort(key=lambda e: e.place.key())
    return events[:limit]


def _event(row: dict[str, Any]) -> Event:
    return Event(
        id=row["EventId"],
        type=row["Type"],
        commit_timestamp=row["CommitTimestamp"],
        position=row["Position"],
        account_ids=tuple(row["AccountIds"] or ()),
        data=json_from_column(row["Data"]) or {},
    )


def read_sink_cursor(tx: Tx, sink_id: str) -> Place | None:
    rows = tx.read("EventSinkCursors", ("CommitTimestamp", "Position"), [(sink_id,)])
    if not rows:
        return None
    return Place(rows[0]["CommitTimestamp"], rows[0]["Position"] or None)


def save_sink_cursor(tx: Tx, *, sink_id: str, place: Place) -> None:
    """Move a delivery's cursor to ``place``, never back (two deliveries of one sink
    overlap during a rollout: the one behind must not undo the other's progress)."""
    stored = read_sink_cursor(tx, sink_id)
    if stored is not None and stored.key() >= place.key():
        return
    tx.insert_or_update(
        "EventSinkCursors",
        ("SinkId", "CommitTimestamp", "Position", "UpdatedAt"),
        [(sink_id, place.commit_timestamp, place.position or "", spanner.COMMIT_TIMESTAMP)],
    )


def dead_letter(
    tx: Tx, *, endpoint_id: str, event_id: str, event: dict[str, Any], attempts: int,
    last_error: str,
) -> None:  # fmt: skip
    """What an endpoint will not get: an event given up after its attempts, or a gap the
    endpoint fell into (``event`` then describes the gap)."""
    tx.insert_or_update(
        "WebhookDeadLetters",
        ("EndpointId", "EventId", "Attempts", "LastError", "Event", "DeadAt"),
        [(endpoint_id, event_id, attempts, last_error[:2000], json_to_column(event),
          spanner.COMMIT_TIMESTAMP)],
    )  # fmt: skip


def read_dead_letters(tx: Tx, endpoint_id: str) -> list[dict[str, Any]]:
    rows = tx.read_range(
        "WebhookDeadLetters", ("EventId", "Attempts", "LastError", "Event", "DeadAt"),
        start=[endpoint_id], end=[endpoint_id],
    )  # fmt: skip
    return [{**r, "Event": json_from_column(r["Event"])} for r in rows]
