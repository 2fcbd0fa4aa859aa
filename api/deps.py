"""Dependencies routers declare, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.config import Settings
from api.spanner.handles import DatabaseHandles


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_databases(request: Request) -> DatabaseHandles:
    # Starts the worker's runtime on first use when no lifespan ran (serverless adapters).
    handles: DatabaseHandles = request.app.state.runtime.databases
    return handles


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabasesDep = Annotated[DatabaseHandles, Depends(get_databases)]
