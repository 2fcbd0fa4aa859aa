"""create_app(settings): lifespan, routers, middleware, error handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from google.api_core.exceptions import GoogleAPICallError, RetryError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware

from api import __version__
from api.accounts.router import router as accounts_router
from api.auth import Authenticator
from api.auth.middleware import AuthenticationMiddleware
from api.backend_errors import map_backend_error
from api.balances.router import router as balances_router
from api.batch.router import router as batch_router
from api.config import Settings, get_settings
from api.edge import install_edge
from api.errors import (
    HttpError,
    InternalError,
    LedgerError,
    ValidationFailed,
    problem_response,
)
from api.events.router import router as events_router
from api.explorer import mount_explorer
from api.health.router import router as health_router
from api.observability import RequestLogMiddleware, configure_logging
from api.openapi import complete_openapi
from api.pagination import TokenSigner, page_token_key
from api.runtime import Runtime
from api.spanner.errors import DeadlinePassed
from api.transactions.router import router as transactions_router
from api.transfers.router import router as transfers_router

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

# A 422 lists at most this many field errors (and says how many there were): the
# answer to a large wrong body stays small.
MAX_ECHOED_ERRORS = 50
# What a worker waits for its last spans at shutdown: inside Cloud Run's 10 s after
# SIGTERM, of which the in-flight requests may take 8 (Dockerfile).
TRACE_FLUSH_MILLIS = 1500


def create_app(
    settings: Settings | None = None,
    *,
    configure_logs: bool = True,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """``tracer_provider``: where spans go when tracing is on (default: Cloud Trace)."""
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.project)
    provider = _tracing(settings, tracer_provider)
    # Refuses unsafe identity settings (e.g. no authentication on Cloud Run) up front.
    authenticator = Authenticator.from_settings(settings)
    # And a deployed service without its page token secret.
    token_signer = TokenSigner(page_token_key(settings))
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield
        runtime.stop()
        if provider is not None:
            provider.force_flush(TRACE_FLUSH_MILLIS)

    app = FastAPI(
        title="spanner-ledger",
        version=__version__,
        summary="A double-entry ledger on Cloud Spanner.",
        lifespan=lifespan,
        # Traces only: Cloud Run already measures requests (its request_count and
        # request_latencies metrics: the SLO and alerts in infra/monitoring.tf).
        telemetry={
            "tracing": provider is not None,
            "metrics": False,
            "logs": False,
            "tracer_provider": provider,
        },
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.authenticator = authenticator
    app.state.token_signer = token_signer
    app.add_middleware(RequestLogMiddleware, timeout_seconds=settings.request_timeout_seconds)
    install_edge(app, settings)
    # Innermost: a 413 costs no signature check, and a 401 still gets its CORS headers
    # and log line - but no body is read before the token is verified.
    app.user_middleware.append(Middleware(AuthenticationMiddleware))
    _install_error_handlers(app, settings)
    # FastAPI tries the routers in this order, route by route, for every request: the
    # writes and balance reads that make up the traffic first, the probes last.
    routers = (transfers_router, transactions_router, batch_router, balances_router,
               accounts_router, events_router, health_router)  # fmt: skip
    for router in routers:
        app.include_router(router)
    if settings.explorer_enabled:
        mount_explorer(app)
    complete_openapi(app, settings)
    return app


def _tracing(settings: Settings, provider: TracerProvider | None) -> TracerProvider | None:
    if not settings.otel_enabled:
        return None
    # Imported only when on: a cold start without tracing does not load the SDK.
    from api import tracing  # noqa: PLC0415

    return tracing.configure(settings, provider)


def _install_error_handlers(app: FastAPI, settings: Settings) -> None:
    retry_after = settings.retry_after_seconds

    async def ledger_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LedgerError)  # noqa: S101 - registered for it
        return problem_response(exc, instance=request.url.path)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it
        # Field errors without the offending input: it may be large or sensitive.
        found = exc.errors()
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in found[:MAX_ECHOED_ERRORS]
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"])
        if len(found) > MAX_ECHOED_ERRORS:
            message += f" ({len(found)} errors; the first {MAX_ECHOED_ERRORS} are listed)"
        error = ValidationFailed(f"{where}: {message}" if where else message)
        error.errors = errors
        return problem_response(error, instance=request.url.path)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it
        if exc.status_code == 400:
            # FastAPI's only 400: a body it could not decode (invalid UTF-8, say). Like
            # malformed JSON (already a 422), that is a validation error of the body.
            undecodable = ValidationFailed(
                "body: The request body is not valid UTF-8 JSON.",
                errors=[{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}],
            )
            return problem_response(undecodable, instance=request.url.path)
        headers = dict(exc.headers) if exc.headers else None
        error = HttpError(exc.status_code, str(exc.detail), headers=headers)
        return problem_response(error, instance=request.url.path)

    async def backend_error(request: Request, exc: Exception) -> JSONResponse:
        error = map_backend_error(exc, retry_after_seconds=retry_after)
        return problem_response(error, instance=request.url.path)

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        error = InternalError("The request failed unexpectedly.")
        return problem_response(error, instance=request.url.path)

    app.add_exception_handler(LedgerError, ledger_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    # RetryError (api_core's retry budget spent) is no GoogleAPICallError: named too.
    for backend_failure in (GoogleAPICallError, RetryError, DeadlinePassed):
        app.add_exception_handler(backend_failure, backend_error)
    app.add_exception_handler(Exception, unexpected_error)
