"""The retry policy's arithmetic and parsing (no network)."""

from __future__ import annotations

import random

import httpx
import pytest
from ledger_client.retry import Attempts, RetryPolicy, is_retryable_exception, retry_after_seconds


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base=0.1, cap=1.0, rng=random.Random(7))
    delays = [policy.backoff(n, None) for n in range(20)]
    assert all(0 <= d <= 1.0 for d in delays)
    assert len(set(delays)) == len(delays)


def test_retry_after_wins_when_longer() -> None:
    policy = RetryPolicy(base=0.1, cap=0.2)
    assert policy.backoff(0, 3.0) == 3.0


def test_retry_after_seconds_and_dates() -> None:
    def response(value: str) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": value})

    assert retry_after_seconds(response("2")) == 2.0
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after_seconds(response(date), now=1445412480.0) == pytest.approx(10.0)
    assert retry_after_seconds(response("soon")) is None


def test_no_retry_past_the_deadline() -> None:
    now = [0.0]
    attempts = Attempts(RetryPolicy(deadline=5.0, base=0.1, cap=0.1), clock=lambda: now[0])
    attempts.count = 1
    assert attempts.next_delay("status 503", None) is not None
    now[0] = 4.0
    assert attempts.next_delay("status 503", 2.0) is None


def test_no_retry_past_max_attempts() -> None:
    attempts = Attempts(RetryPolicy(max_attempts=3))
    attempts.count = 3
    assert attempts.next_delay("ReadTimeout", None) is None


def test_attempt_timeout_shrinks_to_the_deadline() -> None:
    now = [0.0]
    attempts = Attempts(RetryPolicy(deadline=10.0, attempt_timeout=4.0), clock=lambda: now[0])
    assert attempts.timeout() == 4.0
    now[0] = 8.5
    assert attempts.timeout() == pytest.approx(1.5)


def test_which_exceptions_are_retried() -> None:
    request = httpx.Request("GET", "http://x")
    assert is_retryable_exception(httpx.ReadTimeout("t", request=request))
    assert is_retryable_exception(httpx.ConnectError("c", request=request))
    assert is_retryable_exception(httpx.RemoteProtocolError("r", request=request))
    assert not is_retryable_exception(httpx.UnsupportedProtocol("u", request=request))
    assert not is_retryable_exception(ValueError("v"))
