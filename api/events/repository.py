"""The only place that reads or writes the change stream and the Events tables."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
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
) -> Iterator[list[Record]]:
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


def complete_until(tx: Tx) -> datetime | None:
    """Every event committed at or before this is in Events: the least watermark of the
    partitions still being read. None before the relay first ran."""
    rows = tx.query("SELECT MIN(Watermark) AS Until FROM EventPartitions WHERE Finished = FALSE")
    until: datetime | None = rows[0]["Until"] if rows else None
    return until


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
    tx.insert(
        "EventPartitions",
        PARTITION_COLUMNS,
        [
            (p.token, list(p.parent_tokens), p.start_timestamp, p.watermark, p.finished,
             spanner.COMMIT_TIMESTAMP)
            for p in fresh.values()
        ],
    )  # fmt: skip


def save_progress(
    tx: Tx, *, token: str, watermark: datetime, finished: bool, events: Iterable[Event]
) -> None:
    """The events read from a partition and how far it has been read, together: a
    watermark never passes an event that is not stored. Writing an event again (a
    partition re-read from its watermark) rewrites it unchanged."""
    tx.insert_or_update("Events", EVENT_COLUMNS, [_event_row(e) for e in events])
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
    tx.insert_or_update(
        "EventSinkCursors",
        ("SinkId", "CommitTimestamp", "Position", "UpdatedAt"),
        [(sink_id, place.commit_timestamp, place.position or "", spanner.COMMIT_TIMESTAMP)],
    )


def dead_letter(tx: Tx, *, endpoint_id: str, event: Event, attempts: int, last_error: str) -> None:
    tx.insert_or_update(
        "WebhookDeadLetters",
        ("EndpointId", "EventId", "Attempts", "LastError", "Event", "DeadAt"),
        [(endpoint_id, event.id, attempts, last_error[:2000], json_to_column(event.to_json()),
          spanner.COMMIT_TIMESTAMP)],
    )  # fmt: skip


def read_dead_letters(tx: Tx, endpoint_id: str) -> list[dict[str, Any]]:
    rows = tx.read_range(
        "WebhookDeadLetters", ("EventId", "Attempts", "LastError", "Event", "DeadAt"),
        start=[endpoint_id], end=[endpoint_id],
    )  # fmt: skip
    return [{**r, "Event": json_from_column(r["Event"])} for r in rows]
