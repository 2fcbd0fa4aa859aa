"""The relay: reads every partition of the change stream into the Events table.

Each partition is read by a thread of its own, in windows (one query each); its records
become events (api.events.derive), stored in batches together with the partition's new
watermark, in one transaction: a restart resumes each partition from its watermark and
can only write an event again, under the same id. A partition that ends hands over to
its children; a child with several parents (a merge) starts once all are done, so one
key's changes are never read out of order.

Before its first read the relay decides where to begin (api.events.beginning): where the
stream began, or where it stopped; or it refuses, and says why, rather than leave a gap.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from google.api_core import exceptions as gexc

from api.events import repository
from api.events.beginning import (
    HOW_TO_ACCEPT,
    RETENTION_MARGIN,
    RelayRefused,
    readable_from,
    retention_of,
    stream_began_at,
)
from api.events.budget import CALL_BUDGET_SECONDS, background_call
from api.events.config import EventSettings
from api.events.derive import events_of
from api.events.model import TICK, Event, rfc3339
from api.events.records import ChildPartitions, DataChange, Heartbeat, Record
from api.events.repository import Partition
from api.spanner.database import SpannerDatabase
from api.spanner.tx import Tx

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEDULE_INTERVAL_SECONDS = 0.5
RESTART_DELAY_SECONDS = 2.0  # after a partition's reader failed (Spanner unreachable...)
INBOX_SIZE = 10_000  # batches of records a partition's stream may read ahead
_END = object()


class Relay:
    def __init__(self, database: SpannerDatabase, settings: EventSettings, ddl_dir: Path) -> None:
        self._db = database
        self._settings = settings
        self._ddl_dir = ddl_dir
        self._running: dict[str, threading.Thread] = {}
        self._failed_at: dict[str, float] = {}
        # Why the relay stopped rather than leave a gap (None while it runs).
        self.refused: str | None = None

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` (or a refusal): keep a reader on every partition that is ready."""
        try:
            self.begin()
        except RelayRefused as exc:
            self._refuse(str(exc))
            return
        while not stop.is_set() and self.refused is None:
            try:
                self._schedule(stop)
            except Exception:  # a Spanner outage must not end the relay
                log.exception("events relay: scheduling failed; retrying")
            stop.wait(SCHEDULE_INTERVAL_SECONDS)
        for thread in list(self._running.values()):
            thread.join(timeout=5)

    def _refuse(self, why: str) -> None:
        self.refused = why
        log.error("events relay refused: %s", why)

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

    def begin(self) -> None:
        """Begin where the stream began (first start), or resume where the relay stopped;
        when neither can be read any more, begin afresh where an operator accepted the
        gap, or refuse (RelayRefused)."""
        now, declared = self._read(repository.read_stream_clock)
        retention = retention_of(declared)
        horizon = now - retention + RETENTION_MARGIN
        partitions = self._read(repository.read_partitions)
        if partitions:
            problem = _resume_problem(partitions, horizon, declared or str(retention))
        else:
            problem = self._begin_where_the_stream_began(horizon, declared or str(retention))
        if problem is None:
            return
        if not self._settings.accept_gap:
            raise RelayRefused(f"{problem} {HOW_TO_ACCEPT}")
        self._begin_after_a_gap(problem, horizon, now)

    def _begin_where_the_stream_began(self, horizon: datetime, retention: str) -> str | None:
        """Read from the stream's beginning; what stands in the way, if anything."""
        began, how = stream_began_at(self._db.database, self._ddl_dir)
        if began < horizon:
            return (
                f"The change stream began at {rfc3339(began)} ({how}) and the relay has "
                f"never read it; its records from before {rfc3339(horizon)} are past, or "
                f"close to, the stream's retention ({retention}), so changes committed then "
                f"can no longer be delivered."
            )
        try:
            start, children = self._first_partitions(began, lag_allowed=True)
        except gexc.OutOfRange as exc:
            return (
                f"The change stream cannot be read from where it began ({rfc3339(began)}: "
                f"{how}): {exc.message}."
            )
        started = self._write(
            lambda tx: repository.start_reading(
                tx, children, starts_at=start, reason=how, first=True
            )
        )
        if started:
            log.info("events relay: first start at %s (%s)", rfc3339(start), how)
        return None

    def _begin_after_a_gap(self, problem: str, horizon: datetime, now: datetime) -> None:
        start = self._settings.start_at
        if start is None or not horizon <= start <= now:
            raise RelayRefused(
                f"{problem} LEDGER_EVENTS_START_AT must be between {rfc3339(horizon)} and "
                f"now ({rfc3339(now)}), within the stream's retention."
            )
        try:
            _, children = self._first_partitions(start, lag_allowed=False)
        except gexc.OutOfRange as exc:
            raise RelayRefused(
                f"{problem} Nor can the stream be read from LEDGER_EVENTS_START_AT="
                f"{rfc3339(start)}: {exc.message}"
            ) from exc
        reason = f"an operator accepted a gap (LEDGER_EVENTS_ACCEPT_GAP): {problem}"
        self._write(
            lambda tx: repository.start_reading(
                tx, children, starts_at=start, reason=reason, first=False
            )
        )
        log.warning("events relay: began afresh at %s: %s", rfc3339(start), reason)

    def _first_partitions(
        self, start: datetime, *, lag_allowed: bool
    ) -> tuple[datetime, list[Partition]]:
        """The stream's first partitions from ``start`` (or from just after it, where the
        stream only becomes readable a moment after its recorded beginning)."""
        try:
            return start, self._query_first_partitions(start)
        except gexc.OutOfRange as exc:
            readable = readable_from(exc, start) if lag_allowed else None
            if readable is None:
                raise
            return readable, self._query_first_partitions(readable)

    def _query_first_partitions(self, start: datetime) -> list[Partition]:
        children: list[Partition] = []
        for records in repository.read_change_stream(
            self._db.database, token=None, start=start, end=start,
            heartbeat_ms=self._settings.heartbeat_ms, timeout_seconds=CALL_BUDGET_SECONDS,
        ):  # fmt: skip
            children.extend(_children(records))
        return children

    def _read_partition_safely(self, partition: Partition, stop: threading.Event) -> None:
        try:
            PartitionReader(self, partition, stop).run()
        except gexc.OutOfRange as exc:  # past the stream's retention: never readable again
            self._refuse(
                f"The change stream can no longer be read from {rfc3339(partition.resume_at)}"
                f", where the relay stopped reading partition {partition.token[:12]}: "
                f"{exc.message}. {HOW_TO_ACCEPT}"
            )
        except Exception:
            self._failed_at[partition.token] = time.monotonic()
            log.exception("events relay: partition %s failed; resuming", partition.token[:12])

    def _read(self, work: Callable[[Tx], T]) -> T:
        return self._db.read(work, call=background_call("events.relay.read"))

    def _write(self, work: Callable[[Tx], T]) -> T:
        return self._db.write(work, call=background_call("events.relay.write")).value

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
        inbox: queue.Queue[object] = queue.Queue(maxsize=INBOX_SIZE)
        done = threading.Event()  # the window is given up: its stream stops too
        threading.Thread(
            target=self._stream, args=(start, end, inbox, done),
            name=f"relay-stream-{self._partition.token[:12]}", daemon=True,
        ).start()  # fmt: skip
        try:
            return self._take_window(inbox)
        finally:
            done.set()

    def _take_window(self, inbox: queue.Queue[object]) -> bool:
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

    def _stream(
        self, start: datetime, end: datetime, inbox: queue.Queue[object], done: threading.Event
    ) -> None:
        """Read the window into ``inbox`` until its end, or until the partition's thread
        gives the window up (``done``: it failed or stops), never blocking past that."""
        stream = repository.read_change_stream(
            self._relay._db.database,
            token=self._partition.token, start=start, end=end,
            heartbeat_ms=self._settings.heartbeat_ms,
            timeout_seconds=self._settings.query_window_seconds + CALL_BUDGET_SECONDS,
        )  # fmt: skip
        try:
            with contextlib.closing(stream):  # closing it cancels the query
                for records in stream:
                    if not _hand_over(inbox, records, done):
                        return
            _hand_over(inbox, _END, done)
        except BaseException as exc:  # handed to the partition's thread, which decides
            _hand_over(inbox, exc, done)

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


def _hand_over(inbox: queue.Queue[object], item: object, done: threading.Event) -> bool:
    """Put ``item`` in ``inbox`` unless the reader gave up first; whether it was put."""
    while not done.is_set():
        try:
            inbox.put(item, timeout=0.1)
        except queue.Full:
            continue
        return True
    return False


def _resume_problem(partitions: list[Partition], horizon: datetime, retention: str) -> str | None:
    """Why the relay cannot resume where it stopped (None: it can)."""
    behind = [p.resume_at for p in partitions if not p.finished and p.resume_at < horizon]
    if not behind:
        return None
    return (
        f"The relay stopped reading the change stream at {rfc3339(min(behind))}: it was "
        f"down longer than the stream's retention ({retention}) allows (records from "
        f"before {rfc3339(horizon)} are past it, or about to be), so changes committed "
        f"since then may be lost to it."
    )


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
