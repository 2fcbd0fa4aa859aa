"""What one attempt's response means: the result, a retry after a delay, or an error.

Shared by the sync and async clients, which differ only in how they send and sleep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import httpx

from ledger_client.auth import NoAuth, TokenSource
from ledger_client.calls import Call
from ledger_client.errors import TransportError, error_from_response
from ledger_client.retry import (
    RETRYABLE_STATUSES,
    Attempts,
    RetryPolicy,
    is_retryable_exception,
    retry_after_seconds,
)

T = TypeVar("T")

USER_AGENT = "spanner-ledger-client/0.1"


class Target:
    """Where calls go and how: the service URL, the token source, the retry policy."""

    def __init__(
        self, url: str, *, auth: TokenSource | None = None, retry: RetryPolicy | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.auth: TokenSource = auth or NoAuth()
        self.retry = retry or RetryPolicy()
        self.default_headers = {"User-Agent": USER_AGENT}


@dataclass(frozen=True, slots=True)
class RetryAfter:
    delay: float


def settle(call: Call[T], response: httpx.Response, attempts: Attempts) -> T | RetryAfter:
    """The parsed result of a success; ``RetryAfter`` for a retryable status while the
    budget lasts; else raises the problem as an ``ApiError``."""
    if response.is_success:
        return call.parse(response.json())
    wait = retry_after_seconds(response)
    if response.status_code in RETRYABLE_STATUSES:
        delay = attempts.next_delay(f"status {response.status_code}", wait)
        if delay is not None:
            return RetryAfter(delay)
    raise error_from_response(response, retry_after=wait, attempts=attempts.count)


def settle_failure(exc: Exception, attempts: Attempts) -> RetryAfter:
    """A send that raised: retry while the budget lasts, else ``TransportError``."""
    if not is_retryable_exception(exc):
        raise exc
    delay = attempts.next_delay(type(exc).__name__, None)
    if delay is None:
        raise TransportError(
            f"no answer after {attempts.count} attempt(s): {type(exc).__name__}: {exc}",
            attempts=attempts.count,
        ) from exc
    return RetryAfter(delay)
