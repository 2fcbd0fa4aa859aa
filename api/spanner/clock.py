"""Bounds on Spanner's clock from the commit timestamps this process has seen.

A commit timestamp is assigned no earlier than the moment the commit reached Spanner
(so no earlier than when this process began the transaction), and the commit is not
acknowledged before that moment has passed (commit wait; so no later than when the
answer came back). With the process's monotonic clock for what elapsed since, one
observed commit bounds Spanner's time at any later instant from both sides, without
asking Spanner (a query on every transaction that needs the time would cost more than
the transaction itself on the emulator).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

# TrueTime's uncertainty, generously: a timestamp Spanner assigns may be this far ahead
# of the real time it was assigned at.
UNCERTAINTY = timedelta(milliseconds=50)
# How far the monotonic clock may drift from real time per second elapsed.
DRIFT_PER_SECOND = 2e-4


@dataclass(frozen=True)
class TimeBounds:
    earliest: datetime  # Spanner's time is at least this at the instant asked about
    latest: datetime  # and a timestamp it assigns by then is at most this


@dataclass(frozen=True)
class _Observation:
    commit_timestamp: datetime
    began: float  # time.monotonic() before the transaction's first RPC
    returned: float  # time.monotonic() after its commit was acknowledged


class SpannerClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: _Observation | None = None

    def observe(self, commit_timestamp: datetime, *, began: float, returned: float) -> None:
        with self._lock:
            if self._last is None or returned >= self._last.returned:
                self._last = _Observation(commit_timestamp, began, returned)

    def at(self, instant: float) -> TimeBounds | None:
        """Bounds for the monotonic ``instant``; None until a commit has been seen."""
        last = self._last
        if last is None:
            return None
        since_return = instant - last.returned
        since_begin = instant - last.began
        drift = timedelta(seconds=abs(since_begin) * DRIFT_PER_SECOND)
        return TimeBounds(
            earliest=last.commit_timestamp + timedelta(seconds=since_return) - drift,
            latest=last.commit_timestamp + timedelta(seconds=since_begin) + drift + UNCERTAINTY,
        )
