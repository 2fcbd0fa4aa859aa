"""One delivery's loop: the events after its cursor, up to the watermark, in commit
order, handed over in batches; the cursor moves only past a batch delivered whole, so
a crash (or a failure) redelivers, never skips."""

from __future__ import annotations

import functools
import logging
import threading
from typing import Protocol

from api.events import repository
from api.events.budget import background_budget
from api.events.config import EventSettings
from api.events.feed import Gap, read_served
from api.events.model import Event, Place
from api.spanner.database import SpannerDatabase

log = logging.getLogger(__name__)

RETRY_CAP_SECONDS = 30.0


class Stopped(Exception):
    """The process is stopping: the batch in hand is left for the next run."""


class Delivery(Protocol):
    sink_id: str

    def deliver(self, events: list[Event], stop: threading.Event) -> None:
        """All of ``events`` delivered (or dead-lettered), or an exception."""

    def skipped(self, gap: Gap) -> None:
        """The delivery's cursor was behind the feed's start: ``gap`` is lost to it."""


class DeliveryRunner:
    def __init__(
        self, database: SpannerDatabase, settings: EventSettings, delivery: Delivery
    ) -> None:
        self._db = database
        self._settings = settings
        self._delivery = delivery

    @property
    def sink_id(self) -> str:
        return self._delivery.sink_id

    def run(self, stop: threading.Event) -> None:
        poll = self._settings.poll_interval_ms / 1000
        place = self._db.read(
            lambda tx: repository.read_sink_cursor(tx, self._delivery.sink_id),
            budget=background_budget("events.delivery.cursor"),
        )
        batch = self._settings.delivery_batch
        failures = 0
        while not stop.is_set():
            try:
                served, _ = self._db.read_consistent(
                    functools.partial(read_served, after=place, limit=batch),
                    budget=background_budget("events.delivery.read"),
                )
                if served.gap is not None:
                    log.error(
                        "events delivery %s skipped: %s",
                        self._delivery.sink_id, served.gap.describe(),
                    )  # fmt: skip
                    self._delivery.skipped(served.gap)
                if not served.events and served.gap is None:
                    place = served.next  # nothing new to save; resume re-reads nothing
                    stop.wait(poll)
                    continue
                if served.events:
                    self._delivery.deliver(served.events, stop)
                place = served.next or served.events[-1].place
                self._save(place)
                failures = 0
                if len(served.events) < batch:
                    # Caught up to the watermark: what comes next waits for the next
                    # poll, in one batch, rather than a read and a commit per trickle.
                    stop.wait(poll)
            except Stopped:
                return
            except Exception:
                failures += 1
                log.exception("events delivery %s failed; retrying", self._delivery.sink_id)
                stop.wait(min(RETRY_CAP_SECONDS, 0.5 * 2 ** min(failures, 6)))

    def _save(self, place: Place) -> None:
        self._db.write(
            functools.partial(
                repository.save_sink_cursor, sink_id=self._delivery.sink_id, place=place
            ),
            budget=background_budget("events.delivery.save"),
        )
