"""Per-principal rate limit: one token bucket per caller, in each worker process.

A caller may make ``burst`` requests at once and ``rate`` per second after that; a
request without a token gets ``429 rate_limited`` with ``Retry-After`` (whole seconds
until its next token). The limit is per worker process: a Cloud Run service with N
instances (each with W workers) admits up to N x W times the rate. It protects an
instance from one noisy caller; a global quota belongs in front of the service (API
Gateway, Cloud Armor).

The bucket key is the authenticated principal's key (``email:...`` for a verified
email, ``sub:...`` otherwise, so a subject never shares an email's bucket), known only
after authentication: ``enforce_rate_limit`` runs in the v1 routes' one dependency
(api.deps, after the bearer token was verified and the scope checked), not in a
middleware. With authentication off every request is
the local principal, and the caller's address is used instead.

Memory is bounded: a bucket idle long enough to be full again is the same as no bucket,
so it is dropped; beyond ``max_keys`` active callers the least recently seen one is
dropped (it starts again with a full bucket).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from api.auth import LOCAL_PRINCIPAL, Principal
from api.errors import LedgerError

DEFAULT_MAX_KEYS = 10_000


class RateLimited(LedgerError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            f"Too many requests from this caller; retry in {retry_after_seconds} s.",
            headers={"Retry-After": str(retry_after_seconds)},
        )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float  # clock() when ``tokens`` was computed


class TokenBucketLimiter:
    """Token buckets keyed by caller; thread-safe (sync endpoints run in threads)."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate must be > 0, burst and max_keys >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        # Least recently used first: every acquire moves its key to the end.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._refill_seconds = burst / rate  # an untouched bucket is full after this

    def acquire(self, key: str) -> float:
        """Take a token for ``key``: 0.0 if there was one, else seconds until there is."""
        with self._lock:
            now = self._clock()
            self._drop_idle(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(tokens=float(self.burst), updated=now)
                self._buckets[key] = bucket
                if len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
                bucket.updated = now
                self._buckets.move_to_end(key)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)

    def _drop_idle(self, now: float) -> None:
        # Oldest first; stop at the first bucket that may still be short of tokens.
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest.updated < self._refill_seconds:
                return
            self._buckets.popitem(last=False)


def retry_after_seconds(wait: float) -> int:
    """``Retry-After`` for a wait of ``wait`` seconds: whole seconds, at least 1."""
    return max(1, math.ceil(wait))


def rate_limit_key(request: Request, principal: Principal) -> str:
    if principal is not LOCAL_PRINCIPAL:
        return "principal:" + principal.key
    client = request.client
    return "address:" + (client.host if client is not None else "unknown")


def enforce_rate_limit(request: Request, principal: Principal) -> None:
    """Spend one of the caller's tokens, or raise ``RateLimited``.

    Cheap and non-blocking (a lock held for microseconds), so it runs on the event loop.
    Without a limiter on ``app.state.rate_limiter`` (limit disabled) it does nothing.
    """
    limiter = getattr(request.app.state, "rate_limiter", None)
    if not isinstance(limiter, TokenBucketLimiter):
        return
    key = rate_limit_key(request, principal)
    wait = limiter.acquire(key)
    if wait > 0:
        raise RateLimited(retry_after_seconds(wait))
