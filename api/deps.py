"""Dependencies routers declare, as ``Annotated`` aliases."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import PrincipalDep
from api.config import Settings
from api.context import RequestContext, find_record
from api.pagination import TokenSigner
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


def page_token_key(settings: Settings) -> bytes:
    if settings.page_token_secret is not None:
        return settings.page_token_secret.get_secret_value().encode()
    where = f"{settings.project}/{settings.spanner_instance}/{settings.spanner_database}"
    return hashlib.sha256(f"spanner-ledger page tokens: {where}".encode()).digest()


async def get_token_signer(request: Request) -> TokenSigner:
    signer: TokenSigner | None = getattr(request.app.state, "token_signer", None)
    if signer is None:
        signer = request.app.state.token_signer = TokenSigner(
            page_token_key(request.app.state.settings)
        )
    return signer


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
TokenSignerDep = Annotated[TokenSigner, Depends(get_token_signer)]
