"""Bounds on Spanner's clock from the commit timestamps this process has seen.

A commit timestamp is assigned no earlier than the moment the commit reached Spanner
(so no earlier than when this process began the transaction), and the commit is not
acknowledged before that moment has passed (commit wait; so no later than when the
answer came back). With the process's monotonic clock for what elapsed since, one
observed commit bounds Spanner's time at any later instant from both sides, without
asking Spanner (a query on every transaction that needs the time would cost more than
the transaction itself on the emulator).

The bounds widen with the monotonic clock's possible drift, so an observation is used
for ``MAX_AGE_SECONDS`` only: after that (a worker idle for a day would be ~17 s off
each way) the caller asks Spanner (``CURRENT_TIMESTAMP()``) and records the answer as
a reading, whose own uncertainty is counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

# TrueTime's uncertainty, generously: a timestamp Spanner assigns may be this far ahead
# of the real time it was assigned at.
UNCERTAINTY = timedelta(milliseconds=50)
# How far the monotonic clock may drift from real time per second elapsed.
DRIFT_PER_SECOND = 2e-4
# How long one observation is trusted: its bounds are then at most ~2 * 12 ms wider
# from drift than when it was made.
MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True)
class TimeBounds:
    earliest: datetime  # Spanner's time is at least this at the instant asked about
    latest: datetime  # and a timestamp it assigns by then is at most this


@dataclass(frozen=True)
class _Observation:
    timestamp: datetime
    began: float  # monotonic, before the first RPC of what produced ``timestamp``
    returned: float  # monotonic, after its answer came back
    # How far ``timestamp`` may be from the real time it was taken at, either way: 0 for
    # a commit timestamp (commit wait), TrueTime's uncertainty for CURRENT_TIMESTAMP().
    slack: timedelta


class SpannerClock:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: _Observation | None = None

    def observe(self, commit_timestamp: datetime, *, began: float, returned: float) -> None:
        """A commit acknowledged at ``returned`` of a transaction begun at ``began``."""
        self._record(_Observation(commit_timestamp, began, returned, timedelta(0)))

    def observe_reading(self, now: datetime, *, began: float, returned: float) -> None:
        """``CURRENT_TIMESTAMP()`` read by a call made between ``began`` and ``returned``."""
        self._record(_Observation(now, began, returned, UNCERTAINTY))

    def _record(self, observation: _Observation) -> None:
        with self._lock:
            if self._last is None or observation.returned >= self._last.returned:
                self._last = observation

    def _fresh(self) -> _Observation | None:
        last = self._last
        if last is None or self._monotonic() - last.returned > MAX_AGE_SECONDS:
            return None
        return last

    def at(self, instant: float) -> TimeBounds | None:
        """Bounds for the monotonic ``instant``; None until a commit has been seen, and
        once the last observation is too old to bound the time closely (ask Spanner)."""
        last = self._fresh()
        if last is None:
            return None
        since_return = instant - last.returned
        since_begin = instant - last.began
        drift = timedelta(seconds=abs(since_begin) * DRIFT_PER_SECOND)
        return TimeBounds(
            earliest=last.timestamp - last.slack + timedelta(seconds=since_return) - drift,
            latest=last.timestamp
            + last.slack
            + timedelta(seconds=since_begin)
            + drift
            + UNCERTAINTY,
        )

    def last_instant_before(self, timestamp: datetime) -> float | None:
        """The latest monotonic instant by which any timestamp Spanner assigns is still
        before ``timestamp`` (the inverse of ``at(...).latest``); None as for ``at``."""
        last = self._fresh()
        if last is None:
            return None
        room = (timestamp - last.timestamp - last.slack - UNCERTAINTY).total_seconds()
        # latest(t) = timestamp + slack + (t - began) * (1 + drift) + UNCERTAINTY, for
        # t after began; a hair earlier than equality, so that it stays strictly before.
        return last.began + room / (1 + DRIFT_PER_SECOND) - 1e-6
