"""What one attempt's response means: the result, a retry after a delay, or an error.

No I/O here: the sync and async transports (``ledger_client.transport``) send and sleep,
and both ask this module what each answer, or each failure to get one, means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import httpx

from ledger_client.calls import Call
from ledger_client.errors import TransportError, error_from_response
from ledger_client.retry import (
    RETRYABLE_STATUSES,
    Attempts,
    is_retryable_exception,
    retry_after_seconds,
)

T = TypeVar("T")


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
