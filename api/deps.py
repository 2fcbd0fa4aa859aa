"""What a route needs of its request, resolved by ONE dependency per route.

A v1 route declares ``caller: ReadAccess`` or ``caller: WriteAccess``: the principal the
middleware verified, checked for the scope; one of its rate-limit tokens spent; its
budget (``ctx``); the settings; and the started runtime (Spanner handles, the transfer
writer). One dependency rather than one for each: FastAPI's resolution of a
dependency costs more than any of these lookups (measured: the nine a write route
had were a quarter of the Python an HTTP transfer cost in the worker).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import READ, WRITE, Principal, authorized
from api.config import Scope, Settings
from api.context import RequestContext, find_record
from api.ledger.writer import LedgerWriter
from api.pagination import TokenSigner
from api.ratelimit import enforce_rate_limit
from api.runtime import Runtime
from api.storage import DatabaseHandles


@dataclass(frozen=True, slots=True)
class Caller:
    """One request's caller (None for the open probes) and what its route works with."""

    principal: Principal | None
    ctx: RequestContext
    runtime: Runtime
    request: Request

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def databases(self) -> DatabaseHandles:
        return self.runtime.databases

    @property
    def writer(self) -> LedgerWriter:
        return self.runtime.ledger_writer

    @property
    def token_signer(self) -> TokenSigner:
        """Signs and checks page tokens (made by create_app, kept on the app)."""
        signer: TokenSigner = self.request.app.state.token_signer
        return signer


async def _started_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    if not runtime.started:
        # No lifespan ran (serverless adapters): start once, off the event loop.
        await run_in_threadpool(runtime.start)
    return runtime


def _context(request: Request, principal: str | None) -> RequestContext:
    record = find_record(request.scope)
    if record is None:  # an app mounted without the request log middleware
        settings: Settings = request.app.state.settings
        return RequestContext.starting_now(settings.request_timeout_seconds, principal=principal)
    return RequestContext(deadline=record.deadline, principal=principal, meter=record.meter)


async def _caller(request: Request, principal: Principal | None) -> Caller:
    return Caller(
        principal=principal,
        ctx=_context(request, principal.name if principal is not None else None),
        runtime=await _started_runtime(request),
        request=request,
    )


def _requiring(scope: Scope) -> Callable[[Request], Awaitable[Caller]]:
    # Async: every step is a lookup, cheaper than a trip through the threadpool.
    async def dependency(request: Request) -> Caller:
        principal = authorized(request, scope)
        enforce_rate_limit(request, principal)
        return await _caller(request, principal)

    dependency.__name__ = "access_requiring_" + scope.replace(".", "_")
    return dependency


async def _probe(request: Request) -> Caller:
    """For the open health probes: the request's budget, nobody's name, no rate limit."""
    return await _caller(request, None)


ReadAccess = Annotated[Caller, Depends(_requiring(READ))]
WriteAccess = Annotated[Caller, Depends(_requiring(WRITE))]
ProbeAccess = Annotated[Caller, Depends(_probe)]
