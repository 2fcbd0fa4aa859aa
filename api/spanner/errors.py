"""Which failures of the Spanner client are transient: the one classification.

Mapping them to the app's problems happens at the app's edge (api.backend_errors);
this layer only says what a failure *is*.
"""

from __future__ import annotations

from google.api_core import exceptions as gexc


class DeadlinePassed(Exception):
    """The caller's budget ran out before (or while) a Spanner call could run."""


class SessionsExhausted(DeadlinePassed):
    """No pooled session became free before the caller's deadline."""


# Failures that say nothing about the request and may pass if tried again.
TRANSIENT: tuple[type[BaseException], ...] = (
    gexc.Aborted,  # reached here only after our own retries ran out
    gexc.DeadlineExceeded,
    gexc.ServiceUnavailable,
    gexc.ResourceExhausted,
    gexc.InternalServerError,
    gexc.Cancelled,
    gexc.Unknown,
    # Raised by api_core's retry wrapper when its budget ends; not a GoogleAPICallError.
    gexc.RetryError,
    DeadlinePassed,
)


# Failures that say this process's identity may not make the call (IAM, or a database
# role without the grant): not transient, not about any one item of a group, and
# Spanner refused before doing anything. Only an operator's fix makes them pass.
REFUSED: tuple[type[BaseException], ...] = (gexc.PermissionDenied, gexc.Unauthenticated)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT)


def is_refused(exc: BaseException) -> bool:
    return isinstance(exc, REFUSED)
