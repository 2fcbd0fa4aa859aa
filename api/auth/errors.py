"""The errors authentication and authorization raise.

Responses follow RFC 6750: a 401 always carries ``WWW-Authenticate: Bearer``, with
``error="invalid_token"`` and a short reason when a token was presented but rejected;
a 403 names the missing scope. Reasons are fixed phrases chosen here, never text taken
from the token or from a library's exception, so nothing secret or attacker-controlled
is echoed back.
"""

from __future__ import annotations

from api.errors import BackendUnavailable, LedgerError

# Seconds a caller should wait when the identity provider's keys are unreachable.
KEYS_RETRY_AFTER_SECONDS = 5


class Unauthenticated(LedgerError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"

    def __init__(self, reason: str | None = None) -> None:
        """``reason`` is None when no token was presented at all."""
        self.reason = reason
        if reason is None:
            detail = "A bearer token is required."
            challenge = "Bearer"
        else:
            detail = f"The bearer token was rejected: {reason}."
            challenge = f'Bearer error="invalid_token", error_description="{reason}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(LedgerError):
    status = 403
    code = "forbidden"
    title = "Not allowed"

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__(
            f"This operation needs the '{scope}' scope.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )


class SigningKeysUnavailable(BackendUnavailable):
    """The identity provider's signing keys could not be fetched: the caller's token
    may be fine, so this is a 503 to retry, not a 401."""

    def __init__(self) -> None:
        super().__init__(
            "Token signing keys are temporarily unavailable.",
            retry_after_seconds=KEYS_RETRY_AFTER_SECONDS,
        )


# What a protected route declares on its ``responses=`` (see api.errors.problem_responses).
AUTH_ERRORS: tuple[type[LedgerError], ...] = (Unauthenticated, Forbidden)
