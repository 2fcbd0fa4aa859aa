"""One delivery's loop: the events after its cursor, up to the watermark, in commit
order, handed over in batches; the cursor moves only past a batch delivered whole, so
a crash (or a failure) redelivers, never skips."""

from __future__ import annotations

import functools
import logging
import threading
from datetime import datetime
from typing import Protocol

from api.context import RequestContext
from api.events import repository
from api.events.config import EventSettings
from api.events.model import Event, Place
from api.spanner.call import Call
from api.spanner.database import SpannerDatabase
from api.spanner.tx import Tx

log = logging.getLogger(__name__)

CALL_BUDGET_SECONDS = 30.0
RETRY_CAP_SECONDS = 30.0


class Stopped(Exception):
    """The process is stopping: the batch in hand is left for the next run."""


class Delivery(Protocol):
    sink_id: str

    def deliver(self, events: list[Event], stop: threading.Event) -> None:
        """All of ``events`` delivered (or dead-lettered), or an exception."""


class DeliveryRunner:
    def __init__(
        self, database: SpannerDatabase, settings: EventSettings, delivery: Delivery
    ) -> None:
        self._db = database
        self._settings = settings
        self._delivery = delivery
        self.delivered = 0

    @property
    def sink_id(self) -> str:
        return self._delivery.sink_id

    def run(self, stop: threading.Event) -> None:
        poll = self._settings.poll_interval_ms / 1000
        place = self._db.read(
            lambda tx: repository.read_sink_cursor(tx, self._delivery.sink_id), call=_call("read")
        )
        failures = 0
        while not stop.is_set():
            try:
                (until, events), _ = self._db.read_consistent(
                    functools.partial(self._next, place=place), call=_call("events.delivery.read")
                )
                if not events:
                    if until is not None:
                        place = Place(until)  # nothing new to save; resume re-reads nothing
                    stop.wait(poll)
                    continue
                self._delivery.deliver(events, stop)
                place = (
                    events[-1].place if len(events) == self._settings.delivery_batch
                    else Place(until) if until else events[-1].place
                )  # fmt: skip
                self._db.write(
                    functools.partial(
                        repository.save_sink_cursor, sink_id=self._delivery.sink_id, place=place
                    ),
                    call=_call("events.delivery.save"),
                )
                self.delivered += len(events)
                failures = 0
            except Stopped:
                return
            except Exception:
                failures += 1
                log.exception("events delivery %s failed; retrying", self._delivery.sink_id)
                stop.wait(min(RETRY_CAP_SECONDS, 0.5 * 2 ** min(failures, 6)))

    def _next(self, tx: Tx, *, place: Place | None) -> tuple[datetime | None, list[Event]]:
        until = repository.complete_until(tx)
        if until is None or (place is not None and place.commit_timestamp > until):
            return until, []
        limit = self._settings.delivery_batch
        return until, repository.read_events(tx, after=place, until=until, limit=limit)


def _call(action: str) -> Call:
    return RequestContext.starting_now(CALL_BUDGET_SECONDS).call(action)
