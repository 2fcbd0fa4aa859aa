"""Dependencies routers declare, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.config import Settings
from api.spanner.handles import DatabaseHandles
from api.transfers.writer import TransferWriter


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_databases(request: Request) -> DatabaseHandles:
    # Starts the worker's runtime on first use when no lifespan ran (serverless adapters).
    handles: DatabaseHandles = request.app.state.runtime.databases
    return handles


def get_transfer_writer(request: Request) -> TransferWriter:
    writer: TransferWriter = request.app.state.runtime.transfer_writer
    return writer


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabasesDep = Annotated[DatabaseHandles, Depends(get_databases)]
TransferWriterDep = Annotated[TransferWriter, Depends(get_transfer_writer)]
