"""The relay: reads every partition of the change stream into the Events table.

Each partition is read by a thread of its own (api.events.partition_reader); its events
are stored in batches together with the partition's new watermark, in one transaction:
a restart resumes each partition from its watermark and can only write an event again,
under the same id. A partition that ends hands over to
its children; a child with several parents (a merge) starts once all are done, so one
key's changes are never read out of order.

Before its first read the relay decides where to begin (api.events.beginning): where the
stream began, or where it stopped; or it refuses, and says why, rather than leave a gap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
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
from api.events.budget import BUDGET_SECONDS, background_budget
from api.events.config import EventSettings
from api.events.model import Event, rfc3339
from api.events.partition_reader import PartitionReader, children_of
from api.events.repository import Partition
from api.spanner.database import SpannerDatabase
from api.spanner.tx import Tx

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEDULE_INTERVAL_SECONDS = 0.5
# Partitions change only when a reader ends (children appear) or fails: the table is read
# again then, or after this long (another relay may have added some).
RESCAN_SECONDS = 10.0
RESTART_DELAY_SECONDS = 2.0  # after a partition's reader failed (Spanner unreachable...)


class Relay:
    def __init__(self, database: SpannerDatabase, settings: EventSettings, ddl_dir: Path) -> None:
        self._db = database
        self._settings = settings
        self._ddl_dir = ddl_dir
        self._running: dict[str, threading.Thread] = {}
        self._failed_at: dict[str, float] = {}
        self._rescan_at = 0.0  # time.monotonic() of the next read of EventPartitions
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
        ended = [token for token, thread in self._running.items() if not thread.is_alive()]
        for token in ended:
            del self._running[token]
        if not ended and time.monotonic() < self._rescan_at and not self._failed_at:
            return
        self._rescan_at = time.monotonic() + RESCAN_SECONDS
        partitions = self._read(repository.read_open_partitions)
        for partition in ready_to_read(partitions, set(self._running), self._failed_at):
            thread = threading.Thread(
                target=self._read_partition_safely,
                args=(partition, stop),
                name=f"relay-{partition.token[:12]}",
                daemon=True,
            )
            self._running[partition.token] = thread
            self._failed_at.pop(partition.token, None)  # restarted: no longer waiting
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
            self._write(repository.adopt_partitions)
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
            heartbeat_ms=self._settings.heartbeat_ms, timeout_seconds=BUDGET_SECONDS,
        ):  # fmt: skip
            children.extend(children_of(records))
        return children

    def _read_partition_safely(self, partition: Partition, stop: threading.Event) -> None:
        try:
            PartitionReader(self._db.database, self._settings, partition, stop, self.save).run()
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
        return self._db.read(work, budget=background_budget("events.relay.read"))

    def _write(self, work: Callable[[Tx], T]) -> T:
        return self._db.write(work, budget=background_budget("events.relay.write")).value

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
    failed in the last few seconds, and every parent finished (a merged child waits for
    all its parents: one key's changes stay in order). A parent not among
    ``partitions`` is finished: only the open ones need be given."""
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
