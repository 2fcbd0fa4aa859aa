"""Dependencies routers declare, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.config import Settings
from api.runtime import Runtime
from api.spanner.handles import DatabaseHandles
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


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabasesDep = Annotated[DatabaseHandles, Depends(get_databases)]
TransferWriterDep = Annotated[TransferWriter, Depends(get_transfer_writer)]
