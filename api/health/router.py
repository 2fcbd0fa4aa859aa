from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ProbeAccess
from api.errors import problem_responses
from api.health import service

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    schema_version: int


# Async, touching nothing: it must answer even while every threadpool thread waits on
# Spanner.
@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    summary="Readiness: Spanner reachable and schema at the latest migration",
    responses=problem_responses(service.SchemaNotCurrent),
)
def readyz(caller: ProbeAccess) -> Readiness:
    version = service.check_ready(
        databases=caller.databases, settings=caller.settings, ctx=caller.ctx
    )
    return Readiness(schema_version=version)
