from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.accounts.errors import AccountNotFound
from api.auth import AUTH_ERRORS, ReaderDep, WriterDep
from api.deps import DatabasesDep, SettingsDep
from api.errors import IdempotencyConflict, problem_responses
from api.ids import ID_PATTERN
from api.transfers import service
from api.transfers.errors import (
    CurrencyMismatch,
    InsufficientFunds,
    SameAccount,
    TransferNotFound,
)
from api.transfers.schemas import Transfer, TransferCreate

router = APIRouter(prefix="/v1", tags=["transfers"])


@router.post(
    "/transfers",
    status_code=201,
    summary="Move money between two accounts (idempotent by id)",
    responses={
        200: {"model": Transfer, "description": "Replay: the transfer already made."},
        **problem_responses(
            *AUTH_ERRORS,
            AccountNotFound, IdempotencyConflict, InsufficientFunds, SameAccount, CurrencyMismatch
        ),
    },
)
def create_transfer(
    body: TransferCreate,
    response: Response,
    databases: DatabasesDep,
    settings: SettingsDep,
    _principal: WriterDep,
) -> Transfer:
    transfer, created = service.create_transfer(
        databases=databases, settings=settings, request=body
    )
    response.status_code = 201 if created else 200
    return transfer


@router.get(
    "/transfers/{transfer_id}",
    summary="One transfer",
    responses=problem_responses(*AUTH_ERRORS, TransferNotFound),
)
def get_transfer(
    transfer_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)],
    databases: DatabasesDep,
    _principal: ReaderDep,
) -> Transfer:
    return service.get_transfer(databases=databases, transfer_id=transfer_id)
