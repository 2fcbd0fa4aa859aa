"""One change stream partition, read window after window until it ends.

Each window is one query, streamed by a thread of its own into a bounded inbox; the
partition's thread turns its records into events (api.events.derive) and hands them to
``save`` in batches, with the partition's watermark (and, once it ends, its children).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from datetime import datetime, timedelta
from typing import Protocol

from google.cloud.spanner_v1.database import Database

from api.events import repository
from api.events.budget import BUDGET_SECONDS
from api.events.config import EventSettings
from api.events.derive import events_of
from api.events.model import TICK, Event
from api.events.records import ChildPartitions, DataChange, Heartbeat, Record
from api.events.repository import Partition

INBOX_SIZE = 10_000  # batches of records a partition's stream may read ahead
_END = object()


class Save(Protocol):
    """What a reader hands over: the partition, its watermark, whether it ended, the
    events read since the last save and the children it ended with."""

    def __call__(
        self, partition: Partition, *, watermark: datetime, finished: bool,
        events: list[Event], children: list[Partition],
    ) -> None: ...  # fmt: skip


class PartitionReader:
    """One partition, window after window, until it ends (or ``stop``)."""

    def __init__(
        self,
        database: Database,
        settings: EventSettings,
        partition: Partition,
        stop: threading.Event,
        save: Save,
    ) -> None:
        self._database = database
        self._partition = partition
        self._stop = stop
        self._settings = settings
        self._save = save
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
            self._database,
            token=self._partition.token, start=start, end=end,
            heartbeat_ms=self._settings.heartbeat_ms,
            timeout_seconds=self._settings.query_window_seconds + BUDGET_SECONDS,
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
                self._children.extend(children_of([record]))
                urgent = True
        return urgent or len(self._buffer) >= self._settings.flush_max_events

    def _due(self) -> bool:
        if self._first_buffered is None:
            return False
        return time.monotonic() - self._first_buffered >= self._settings.flush_interval_ms / 1000

    def _flush(self, *, finished: bool = False) -> None:
        self._save(
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


def children_of(records: list[Record]) -> list[Partition]:
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
