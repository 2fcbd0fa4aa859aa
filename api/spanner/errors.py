"""The one place where Spanner/gRPC failures become domain errors."""

from __future__ import annotations

import logging

from google.api_core import exceptions as gexc

from api.errors import (
    BackendUnavailable,
    Conflict,
    InternalError,
    LedgerError,
    ValidationFailed,
)
from api.spanner.tx import DeadlinePassed

log = logging.getLogger(__name__)

# Failures that say nothing about the request and may pass if tried again.
TRANSIENT = (
    gexc.Aborted,  # reached here only after our own retries ran out
    gexc.DeadlineExceeded,
    gexc.ServiceUnavailable,
    gexc.ResourceExhausted,
    gexc.InternalServerError,
    gexc.Cancelled,
    gexc.Unknown,
    gexc.RetryError,
)


def map_backend_error(  # noqa: PLR0911 - one branch per family of failures
    exc: BaseException, *, retry_after_seconds: int
) -> LedgerError:
    """Translate an exception raised by the Spanner client into a LedgerError.

    Details of backend failures are logged here and never sent to the caller.
    """
    if isinstance(exc, LedgerError):
        return exc
    if isinstance(exc, DeadlinePassed):
        return BackendUnavailable(
            "The request's time budget ran out before storage answered; retry it with the same id.",
            retry_after_seconds=retry_after_seconds,
        )
    if isinstance(exc, TRANSIENT):
        log.warning("transient Spanner failure: %s", exc.__class__.__name__, exc_info=exc)
        return BackendUnavailable(
            "Storage is temporarily unavailable; retry the request with the same id.",
            retry_after_seconds=retry_after_seconds,
        )
    if isinstance(exc, gexc.AlreadyExists):
        return Conflict("The resource was created concurrently; retry the request.")
    if isinstance(exc, (gexc.OutOfRange, gexc.InvalidArgument)):
        log.warning("Spanner rejected a value", exc_info=exc)
        return ValidationFailed("A value is outside what the ledger can store.")
    if isinstance(exc, gexc.NotFound):
        # Database, session or transaction missing: an operational problem, not
        # the caller's; retrying may succeed once the pool replaces the session.
        log.error("Spanner resource not found", exc_info=exc)
        return BackendUnavailable(
            "Storage is not reachable right now.", retry_after_seconds=retry_after_seconds
        )
    log.error("unexpected backend failure", exc_info=exc)
    return InternalError("The request failed unexpectedly.")
