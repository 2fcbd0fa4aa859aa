"""Dependencies routers declare, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import PrincipalDep
from api.config import Settings
from api.context import RequestContext, find_record
from api.runtime import Runtime
from api.storage import DatabaseHandles
from api.transfers.writer import TransferWriter


# Async: trivial lookups must not cost a trip through the threadpool.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _started_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    if not runtime.started:
        # No lifespan ran (serverless adapters): start once, off the event loop.
        await run_in_threadpool(runtime.start)
    return runtime


async def get_databases(request: Request) -> DatabaseHandles:
    return (await _started_runtime(request)).databases


async def get_transfer_writer(request: Request) -> TransferWriter:
    return (await _started_runtime(request)).transfer_writer


def _context(request: Request, principal: str | None) -> RequestContext:
    record = find_record(request.scope)
    if record is None:  # an app mounted without the request log middleware
        settings: Settings = request.app.state.settings
        return RequestContext.starting_now(settings.request_timeout_seconds, principal=principal)
    return RequestContext(deadline=record.deadline, principal=principal, meter=record.meter)


async def get_request_context(request: Request, principal: PrincipalDep) -> RequestContext:
    return _context(request, principal.name)


async def get_probe_context(request: Request) -> RequestContext:
    """For the open health probes: the request's budget, nobody's name."""
    return _context(request, None)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabasesDep = Annotated[DatabaseHandles, Depends(get_databases)]
TransferWriterDep = Annotated[TransferWriter, Depends(get_transfer_writer)]
RequestContextDep = Annotated[RequestContext, Depends(get_request_context)]
ProbeContextDep = Annotated[RequestContext, Depends(get_probe_context)]
