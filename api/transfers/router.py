from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from api.accounts.errors import AccountNotFound
from api.auth import AUTH_ERRORS, ReaderDep, WriterDep
from api.deps import DatabasesDep, RequestContextDep, SettingsDep, TransferWriterDep
from api.edge import EDGE_RESPONSES
from api.errors import IdempotencyConflict, problem_responses
from api.ids import ID_PATTERN
from api.ratelimit import enforce_rate_limit
from api.transfers import service
from api.transfers.errors import (
    CurrencyMismatch,
    InsufficientFunds,
    SameAccount,
    TransferNotFound,
)
from api.transfers.schemas import (
    Transfer,
    TransferBatchCreate,
    TransferBatchResult,
    TransferCreate,
)

router = APIRouter(
    prefix="/v1",
    tags=["transfers"],
    dependencies=[Depends(enforce_rate_limit)],
    responses=EDGE_RESPONSES,
)


@router.post(
    "/transfers",
    status_code=201,
    summary="Move money between two accounts (idempotent by id)",
    responses={
        200: {"model": Transfer, "description": "Replay: the transfer already made."},
        **problem_responses(
            *AUTH_ERRORS,
            AccountNotFound,
            IdempotencyConflict,
            InsufficientFunds,
            SameAccount,
            CurrencyMismatch,
        ),
    },
)
async def create_transfer(
    body: TransferCreate,
    response: Response,
    writer: TransferWriterDep,
    settings: SettingsDep,
    _principal: WriterDep,
    ctx: RequestContextDep,
) -> Transfer:
    transfer, created = await service.create_transfer(
        writer=writer, settings=settings, ctx=ctx, request=body
    )
    response.status_code = 201 if created else 200
    return transfer


@router.post(
    "/transfers:batch",
    summary="Up to 1,000 transfers in one request: atomic, or each with its own outcome",
    responses=problem_responses(
        *AUTH_ERRORS,
        AccountNotFound,
        IdempotencyConflict,
        InsufficientFunds,
        SameAccount,
        CurrencyMismatch,
    ),
)
def create_transfer_batch(
    body: TransferBatchCreate,
    databases: DatabasesDep,
    settings: SettingsDep,
    _principal: WriterDep,
    ctx: RequestContextDep,
) -> TransferBatchResult:
    return service.create_batch(databases=databases, settings=settings, ctx=ctx, request=body)


@router.get(
    "/transfers/{transfer_id}",
    summary="One transfer",
    responses=problem_responses(*AUTH_ERRORS, TransferNotFound),
)
def get_transfer(
    transfer_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)],
    databases: DatabasesDep,
    _principal: ReaderDep,
    ctx: RequestContextDep,
) -> Transfer:
    return service.get_transfer(databases=databases, ctx=ctx, transfer_id=transfer_id)
