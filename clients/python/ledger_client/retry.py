"""When to send a request again, and after how long.

Every write this client sends carries its client id, so sending it again has one effect
(the service replays the stored answer with 200): retrying a write whose first attempt
may have committed is safe. What is retried is what says "try again" or says nothing:
503/502/504 (the outcome is unknown), 429 (rate limited), timeouts and connection
errors. Any other 4xx is the caller's mistake and a 500 is a bug: retrying changes
neither.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """One decision to retry, passed to ``RetryPolicy.on_retry`` (metrics, logs, tests)."""

    attempt: int  # the attempt that failed, from 1
    reason: str  # "status 503", "ReadTimeout", ...
    delay: float  # seconds until the next attempt


@dataclass(frozen=True)
class RetryPolicy:
    """Capped, fully jittered exponential back-off within an overall deadline.

    The n-th retry waits a random time in [0, min(cap, base * 2**n)] - or the server's
    ``Retry-After`` if that is longer - and no attempt starts (or lasts) past
    ``deadline`` seconds after the first. ``attempt_timeout`` bounds each attempt, so a
    request lost in a dead connection is sent again instead of waited on forever.
    """

    max_attempts: int = 8
    base: float = 0.1
    cap: float = 5.0
    deadline: float = 30.0
    attempt_timeout: float = 10.0
    on_retry: Callable[[RetryEvent], None] | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def backoff(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first)."""
        jittered = self.rng.uniform(0, min(self.cap, self.base * 2**retry))
        return max(jittered, retry_after or 0.0)


def no_retries() -> RetryPolicy:
    return RetryPolicy(max_attempts=1)


def retry_after_seconds(response: httpx.Response, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_retryable_exception(exc: Exception) -> bool:
    # TransportError covers timeouts, connect/read/write errors and a peer that closed
    # the connection mid-response (RemoteProtocolError); not a bad URL or a decode error.
    return isinstance(exc, httpx.TransportError) and not isinstance(
        exc, httpx.UnsupportedProtocol | httpx.DecodingError
    )


class Attempts:
    """The bookkeeping of one call's attempts: shared by the sync and async clients,
    which differ only in how they send and sleep."""

    def __init__(self, policy: RetryPolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self.started = clock()
        self.count = 0

    def timeout(self) -> float:
        """The timeout of the next attempt: its own cap, within what is left."""
        left = self.policy.deadline - (self.clock() - self.started)
        return max(0.001, min(self.policy.attempt_timeout, left))

    def next_delay(self, reason: str, retry_after: float | None) -> float | None:
        """After a retryable failure: the wait before the next attempt, or None when the
        attempts or the deadline are spent (the caller raises what it has)."""
        if self.count >= self.policy.max_attempts:
            return None
        delay = self.policy.backoff(self.count - 1, retry_after)
        if self.clock() - self.started + delay >= self.policy.deadline:
            return None
        if self.policy.on_retry is not None:
            self.policy.on_retry(RetryEvent(attempt=self.count, reason=reason, delay=delay))
        return delay
