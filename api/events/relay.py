"""The relay: reads every partition of the change stream into the Events table.

Each partition is read by a thread of its own, in windows (one query each); its records
become events (api.events.derive), stored in batches together with the partition's new
watermark, in one transaction: a restart resumes each partition from its watermark and
can only write an event again, under the same id. A partition that ends hands over to
its children; a child with several parents (a merge) starts once all are done, so one
key's changes are never read out of order.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from api.events import repository
from api.events.budget import CALL_BUDGET_SECONDS, background_call
from api.events.config import EventSettings
from api.events.derive import events_of
from api.events.model import TICK, Event
from api.events.records import ChildPartitions, DataChange, Heartbeat, Record
from api.events.repository import Partition
from api.spanner.database import SpannerDatabase
from api.spanner.tx import Tx

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEDULE_INTERVAL_SECONDS = 0.5
RESTART_DELAY_SECONDS = 2.0  # after a partition's reader failed (Spanner unreachable...)
_END = object()


class Relay:
    def __init__(self, database: SpannerDatabase, settings: EventSettings) -> None:
        self._db = database
        self._settings = settings
        self._running: dict[str, threading.Thread] = {}
        self._failed_at: dict[str, float] = {}

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: keep a reader on every partition that is ready."""
        self._start_if_new()
        while not stop.is_set():
            try:
                self._schedule(stop)
            except Exception:  # a Spanner outage must not end the relay
                log.exception("events relay: scheduling failed; retrying")
            stop.wait(SCHEDULE_INTERVAL_SECONDS)
        for thread in list(self._running.values()):
            thread.join(timeout=5)

    def _schedule(self, stop: threading.Event) -> None:
        for token, thread in list(self._running.items()):
            if not thread.is_alive():
                del self._running[token]
        partitions = self._read(repository.read_partitions)
        for partition in ready_to_read(partitions, set(self._running), self._failed_at):
            thread = threading.Thread(
                target=self._read_partition_safely,
                args=(partition, stop),
                name=f"relay-{partition.token[:12]}",
                daemon=True,
            )
            self._running[partition.token] = thread
            thread.start()

    def _start_if_new(self) -> None:
        """A relay that never ran asks the stream for its first partitions."""
        if self._read(repository.read_partitions):
            return
        start = self._settings.start_at or datetime.now(UTC)
        children: list[Partition] = []
        for records in repository.read_change_stream(
            self._db.database, token=None, start=start, end=start,
            heartbeat_ms=self._settings.heartbeat_ms, timeout_seconds=CALL_BUDGET_SECONDS,
        ):  # fmt: skip
            children.extend(_children(records))
        self._write(lambda tx: repository.add_partitions(tx, children))
        log.info("events relay: started at %s with %d partitions", start, len(children))

    def _read_partition_safely(self, partition: Partition, stop: threading.Event) -> None:
        try:
            PartitionReader(self, partition, stop).run()
        except Exception:
            self._failed_at[partition.token] = time.monotonic()
            log.exception("events relay: partition %s failed; resuming", partition.token[:12])

    def _read(self, work: Callable[[Tx], T]) -> T:
        return self._db.read(work, call=background_call("events.relay.read"))

    def _write(self, work: Callable[[Tx], Any]) -> None:
        self._db.write(work, call=background_call("events.relay.write"))

    def save(
        self, partition: Partition, *, watermark: datetime, finished: bool,
        events: list[Event], children: list[Partition],
    ) -> None:  # fmt: skip
        def work(tx: Tx) -> None:
            repository.add_partitions(tx, children)
            repository.save_progress(
                tx, token=partition.token, watermark=watermark, finished=finished, events=events
            )

        self._write(work)


class PartitionReader:
    """One partition, window after window, until it ends (or ``stop``)."""

    def __init__(self, relay: Relay, partition: Partition, stop: threading.Event) -> None:
        self._relay = relay
        self._partition = partition
        self._stop = stop
        self._settings = relay._settings
        self._watermark = partition.watermark
        self._buffer: list[Event] = []
        self._first_buffered: float | None = None
        self._children: list[Partition] = []

    def run(self) -> None:
        start = self._partition.resume_at
        while not self._stop.is_set():
            end = start + timedelta(seconds=self._settings.query_window_seconds)
            if not self._read_window(start, end):
                return  # stopped
            if self._children:
                self._flush(finished=True)
                return
            # The window ended: every record up to its end has been returned.
            self._watermark = max(self._watermark, end)
            self._flush()
            start = end

    def _read_window(self, start: datetime, end: datetime) -> bool:
        inbox: queue.Queue[object] = queue.Queue(maxsize=10_000)
        threading.Thread(target=self._stream, args=(start, end, inbox), daemon=True).start()
        flush_after = self._settings.flush_interval_ms / 1000
        while not self._stop.is_set():
            wait = 0.05
            if self._first_buffered is not None:
                wait = max(0.0, self._first_buffered + flush_after - time.monotonic())
            try:
                item = inbox.get(timeout=min(wait, 0.05) if wait else 0)
            except queue.Empty:
                if self._due():
                    self._flush()
                continue
            if item is _END:
                return True
            if isinstance(item, BaseException):
                raise item
            if self._take(item) or self._due():  # type: ignore[arg-type]
                self._flush()
        if self._buffer:
            self._flush()
        return False

    def _stream(self, start: datetime, end: datetime, inbox: queue.Queue[object]) -> None:
        try:
            for records in repository.read_change_stream(
                self._relay._db.database,
                token=self._partition.token, start=start, end=end,
                heartbeat_ms=self._settings.heartbeat_ms,
                timeout_seconds=self._settings.query_window_seconds + CALL_BUDGET_SECONDS,
            ):  # fmt: skip
                inbox.put(records)
            inbox.put(_END)
        except BaseException as exc:  # handed to the partition's thread, which decides
            inbox.put(exc)

    def _take(self, records: list[Record]) -> bool:
        """Add what ``records`` say; True when they call for a flush now."""
        urgent = False
        for record in records:
            if isinstance(record, DataChange):
                self._buffer.extend(events_of(record))
                if self._first_buffered is None:
                    self._first_buffered = time.monotonic()
                # Later records of this partition commit at or after this one.
                self._watermark = max(self._watermark, record.commit_timestamp - TICK)
            elif isinstance(record, Heartbeat):
                self._watermark = max(self._watermark, record.timestamp)
                urgent = True
            elif isinstance(record, ChildPartitions):
                self._children.extend(_children([record]))
                urgent = True
        return urgent or len(self._buffer) >= self._settings.flush_max_events

    def _due(self) -> bool:
        if self._first_buffered is None:
            return False
        return time.monotonic() - self._first_buffered >= self._settings.flush_interval_ms / 1000

    def _flush(self, *, finished: bool = False) -> None:
        self._relay.save(
            self._partition, watermark=self._watermark, finished=finished,
            events=self._buffer, children=self._children,
        )  # fmt: skip
        self._buffer = []
        self._first_buffered = None


def ready_to_read(
    partitions: list[Partition],
    running: set[str],
    failed_at: dict[str, float],
    now: float | None = None,
) -> list[Partition]:
    """The partitions a reader should start on now: not finished, not being read, not
    failed in the last few seconds, and every parent the relay knows of finished (a
    merged child waits for all its parents: one key's changes stay in order)."""
    now = time.monotonic() if now is None else now
    by_token = {p.token: p for p in partitions}
    ready = []
    for partition in partitions:
        if partition.finished or partition.token in running:
            continue
        if now - failed_at.get(partition.token, -1e9) < RESTART_DELAY_SECONDS:
            continue
        parents = [by_token[t] for t in partition.parent_tokens if t in by_token]
        if all(parent.finished for parent in parents):
            ready.append(partition)
    return ready


def _children(records: list[Record]) -> list[Partition]:
    return [
        Partition(
            token=child.token,
            parent_tokens=child.parent_tokens,
            start_timestamp=record.start_timestamp,
            watermark=record.start_timestamp - TICK,
            finished=False,
        )
        for record in records
        if isinstance(record, ChildPartitions)
        for child in record.children
    ]
