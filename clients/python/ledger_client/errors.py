"""What the client raises: the service's problem details, or a network that never answered.

Every error response of the service is RFC 9457 problem+json with a stable ``code``;
``ApiError`` carries it, and a subclass per status lets callers catch a family
(``except Conflict``) or test the code (``err.code == "insufficient_funds"``).
"""

from __future__ import annotations

from typing import Any

import httpx


class LedgerError(Exception):
    """Base of everything this package raises."""


class ApiError(LedgerError):
    """The service answered with an error (any status >= 400)."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        detail: str,
        title: str = "",
        type: str = "",  # the problem member's own name
        instance: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title
        self.type = type
        self.instance = instance
        self.errors = errors
        self.retry_after = retry_after
        self.attempts = attempts


class BadRequest(ApiError):
    """422 (and other 4xx without a class of their own): the request is wrong."""


class Unauthenticated(ApiError):
    """401: no valid bearer token."""


class Forbidden(ApiError):
    """403: the token lacks the scope."""


class NotFound(ApiError):
    """404: no such account, transfer, transaction or route."""


class Conflict(ApiError):
    """409: a state conflict (insufficient_funds, idempotency_conflict, lifecycle codes)."""


class RateLimited(ApiError):
    """429, after the client's retries: the caller's rate limit."""


class Unavailable(ApiError):
    """503 (or 502/504), after the client's retries: the outcome of a write is UNKNOWN.
    Send the same request again (same id, same body) to learn it."""


class ServerError(ApiError):
    """500: a bug in the service; never retried."""


class TransportError(LedgerError):
    """No answer within the retry budget (connection refused or reset, timeouts). For a
    write the outcome is unknown, as for ``Unavailable``."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
    500: ServerError,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def _class_for(status: int) -> type[ApiError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return BadRequest if status < 500 else ServerError


def error_from_response(
    response: httpx.Response, *, retry_after: float | None = None, attempts: int = 1
) -> ApiError:
    """The exception for an error response, from its problem body when it has one (a
    proxy or load balancer in front of the service may answer with HTML or nothing)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    detail = body.get("detail")
    code = body.get("code")
    errors = body.get("errors")
    return _class_for(response.status_code)(
        status=response.status_code,
        code=code if isinstance(code, str) else f"http_{response.status_code}",
        detail=detail if isinstance(detail, str) else response.reason_phrase,
        title=str(body.get("title", "")),
        type=str(body.get("type", "")),
        instance=body.get("instance") if isinstance(body.get("instance"), str) else None,
        errors=errors if isinstance(errors, list) else None,
        retry_after=retry_after,
        attempts=attempts,
    )
