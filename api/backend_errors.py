"""The one place where Spanner/gRPC failures become the app's problems.

Details of backend failures are logged here and never sent to the caller. A 503 says
the outcome is unknown - the work may or may not have committed - and that the same
request, sent again with the same id, is safe (idempotency makes it land once).
"""

from __future__ import annotations

import logging

from google.api_core import exceptions as gexc

from api.errors import BackendUnavailable, Conflict, InternalError, LedgerError, ValidationFailed
from api.spanner.errors import DeadlinePassed, SessionsExhausted, is_refused, is_transient

log = logging.getLogger(__name__)

UNKNOWN_OUTCOME = "its outcome is unknown: retry the request with the same id."


def map_backend_error(  # noqa: PLR0911 - one branch per family of failures
    exc: BaseException, *, retry_after_seconds: int
) -> LedgerError:
    """Translate an exception raised by the Spanner layer into a LedgerError."""
    if isinstance(exc, LedgerError):
        return exc
    if isinstance(exc, SessionsExhausted):
        log.warning("no free Spanner session before the deadline")
        return BackendUnavailable(
            "The service is busy and could not start the request in time; " + UNKNOWN_OUTCOME,
            retry_after_seconds=retry_after_seconds,
        )
    if isinstance(exc, DeadlinePassed):
        return BackendUnavailable(
            "The request's time budget ran out before storage answered; " + UNKNOWN_OUTCOME,
            retry_after_seconds=retry_after_seconds,
        )
    if is_transient(exc):
        log.warning("transient Spanner failure: %s", exc.__class__.__name__, exc_info=exc)
        return BackendUnavailable(
            "Storage is temporarily unavailable; " + UNKNOWN_OUTCOME,
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
            "Storage is not reachable right now; " + UNKNOWN_OUTCOME,
            retry_after_seconds=retry_after_seconds,
        )
    if is_refused(exc):
        # 500, not 503: a 503 tells callers to retry, and no retry passes until an
        # operator fixes the grant; Spanner refused before doing anything, so unlike a
        # 503 the outcome is known. The log line says what to fix.
        log.error(
            "Spanner refused this service's identity (%s): check the runtime account's IAM "
            "bindings on the database and the database role's GRANTs (spanner_ddl/): %s",
            exc.__class__.__name__,
            getattr(exc, "message", exc),
            exc_info=exc,
        )
        return InternalError(
            "The service is not allowed to use its storage (a configuration error on our "
            "side); nothing was written."
        )
    log.error("unexpected backend failure", exc_info=exc)
    return InternalError("The request failed unexpectedly.")
