from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from api.auth import AUTH_ERRORS
from api.deps import ReadAccess, WriteAccess
from api.edge import EDGE_RESPONSES
from api.errors import problem_responses
from api.ids import ID_PATTERN
from api.ledger.errors import (
    LIFECYCLE_CONFLICTS,
    MOVE_ERRORS,
    ReversalExceedsAmount,
    TransactionNotFound,
    TransferNotPosted,
)
from api.transactions import service
from api.transactions.schemas import (
    Transaction,
    TransactionCreate,
    TransactionPost,
    TransactionReverse,
    TransactionVoid,
)

router = APIRouter(
    prefix="/v1",
    tags=["transactions"],
    responses=EDGE_RESPONSES,
)

TransactionIdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]


@router.post(
    "/transactions",
    status_code=201,
    summary="Move money in several legs at once, all or none (idempotent by id)",
    responses={
        200: {"model": Transaction, "description": "Replay: the transaction already made."},
        **problem_responses(*AUTH_ERRORS, *MOVE_ERRORS),
    },
)
async def create_transaction(
    body: TransactionCreate,
    response: Response,
    caller: WriteAccess,
) -> Transaction:
    transaction, created = await service.create_transaction(
        writer=caller.writer, settings=caller.settings, ctx=caller.ctx, request=body
    )
    response.status_code = 201 if created else 200
    return transaction


@router.get(
    "/transactions/{transaction_id:id}",
    summary="One transaction with its legs",
    responses=problem_responses(*AUTH_ERRORS, TransactionNotFound),
)
def get_transaction(
    transaction_id: TransactionIdPath,
    caller: ReadAccess,
) -> Transaction:
    return service.get_transaction(
        databases=caller.databases, ctx=caller.ctx, transaction_id=transaction_id
    )


@router.post(
    "/transactions/{transaction_id}:post",
    summary="Settle every leg of a pending transaction; repeat: same answer",
    responses=problem_responses(*AUTH_ERRORS, TransactionNotFound, *LIFECYCLE_CONFLICTS),
)
async def post_transaction(
    transaction_id: TransactionIdPath,
    caller: WriteAccess,
    _body: Annotated[TransactionPost | None, Body()] = None,
) -> Transaction:
    return await service.resolve_transaction(
        writer=caller.writer, ctx=caller.ctx, transaction_id=transaction_id, action="post"
    )


@router.post(
    "/transactions/{transaction_id}:void",
    summary="Release every leg of a pending transaction; repeat: same answer",
    responses=problem_responses(*AUTH_ERRORS, TransactionNotFound, *LIFECYCLE_CONFLICTS),
)
async def void_transaction(
    transaction_id: TransactionIdPath,
    caller: WriteAccess,
    _body: Annotated[TransactionVoid | None, Body()] = None,
) -> Transaction:
    return await service.resolve_transaction(
        writer=caller.writer, ctx=caller.ctx, transaction_id=transaction_id, action="void"
    )


@router.post(
    "/transactions/{transaction_id}:reverse",
    status_code=201,
    summary="Move every leg back, as one new transaction linked to this one",
    responses={
        200: {"model": Transaction, "description": "Replay: the reversal already made."},
        **problem_responses(
            *AUTH_ERRORS, *MOVE_ERRORS, TransactionNotFound, TransferNotPosted,
            ReversalExceedsAmount,
        ),
    },
)  # fmt: skip
async def reverse_transaction(
    *,
    transaction_id: TransactionIdPath,
    body: TransactionReverse,
    response: Response,
    caller: WriteAccess,
) -> Transaction:
    reversal, created = await service.reverse_transaction(
        writer=caller.writer,
        settings=caller.settings,
        ctx=caller.ctx,
        transaction_id=transaction_id,
        request=body,
    )
    response.status_code = 201 if created else 200
    return reversal
