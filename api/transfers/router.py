from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response

from api.auth import AUTH_ERRORS
from api.deps import ReadAccess, WriteAccess
from api.edge import EDGE_RESPONSES
from api.errors import problem_responses
from api.filters import LABEL_FILTER_DESCRIPTION, label_filters
from api.freshness import MaxStaleness, staleness
from api.ids import ID_PATTERN, TRANSFER_ID_MAX_LENGTH, TRANSFER_ID_PATTERN
from api.instants import Instant, InvalidTimeRange, with_zone
from api.ledger.errors import (
    LIFECYCLE_CONFLICTS,
    MOVE_ERRORS,
    AccountNotFound,
    PostExceedsHold,
    ReversalExceedsAmount,
    TransferInTransaction,
    TransferNotFound,
    TransferNotPosted,
)
from api.ledger.records import TransferStatus
from api.ledger.sweeper import sweep_expired_holds
from api.limits import check_page_size
from api.pagination import InvalidPageToken
from api.transfers import queries, service
from api.transfers.queries import TransferFilters
from api.transfers.schemas import (
    ExpirySweep,
    TransferCreate,
    TransferPage,
    TransferPost,
    TransferReverse,
    TransferVoid,
)
from api.wire.transfer import Transfer

router = APIRouter(
    prefix="/v1",
    tags=["transfers"],
    responses=EDGE_RESPONSES,
)

# A client-chosen id, or a leg's ("<transaction id>~<index>").
TransferIdPath = Annotated[
    str, Path(pattern=TRANSFER_ID_PATTERN, max_length=TRANSFER_ID_MAX_LENGTH)
]


@router.post(
    "/transfers",
    status_code=201,
    summary="Move money between two accounts (idempotent by id)",
    responses={
        200: {"model": Transfer, "description": "Replay: the transfer already made."},
        **problem_responses(*AUTH_ERRORS, *MOVE_ERRORS),
    },
)
async def create_transfer(
    body: TransferCreate,
    response: Response,
    caller: WriteAccess,
) -> Transfer:
    transfer, created = await service.create_transfer(
        writer=caller.writer, settings=caller.settings, ctx=caller.ctx, request=body
    )
    response.status_code = 201 if created else 200
    return transfer


@router.post(
    "/transfers/{transfer_id}:post",
    summary="Settle a hold, fully or in part (the rest is released); repeat: same answer",
    responses=problem_responses(
        *AUTH_ERRORS, TransferNotFound, *LIFECYCLE_CONFLICTS, PostExceedsHold
    ),
)
async def post_hold(
    transfer_id: TransferIdPath,
    caller: WriteAccess,
    body: Annotated[TransferPost | None, Body()] = None,
) -> Transfer:
    return await service.resolve_hold(
        writer=caller.writer, ctx=caller.ctx, transfer_id=transfer_id, action="post", request=body
    )


@router.post(
    "/transfers/{transfer_id}:void",
    summary="Release a hold; repeat: same answer",
    responses=problem_responses(*AUTH_ERRORS, TransferNotFound, *LIFECYCLE_CONFLICTS),
)
async def void_hold(
    transfer_id: TransferIdPath,
    caller: WriteAccess,
    _body: Annotated[TransferVoid | None, Body()] = None,
) -> Transfer:
    return await service.resolve_hold(
        writer=caller.writer, ctx=caller.ctx, transfer_id=transfer_id, action="void"
    )


@router.post(
    "/transfers/{transfer_id}:reverse",
    status_code=201,
    summary="Move (part of) a posted transfer back, as a new transfer linked to it",
    responses={
        200: {"model": Transfer, "description": "Replay: the reversal already made."},
        **problem_responses(
            *AUTH_ERRORS, *MOVE_ERRORS, TransferNotFound, TransferNotPosted,
            ReversalExceedsAmount, TransferInTransaction,
        ),
    },
)  # fmt: skip
async def reverse_transfer(
    *,
    transfer_id: TransferIdPath,
    body: TransferReverse,
    response: Response,
    caller: WriteAccess,
) -> Transfer:
    reversal, created = await service.reverse_transfer(
        writer=caller.writer,
        settings=caller.settings,
        ctx=caller.ctx,
        transfer_id=transfer_id,
        request=body,
    )
    response.status_code = 201 if created else 200
    return reversal


@router.post(
    "/transfers:expire",
    summary="Release every hold whose time is up, now (for a scheduler; workers also "
    "do it in the background)",
    responses=problem_responses(*AUTH_ERRORS),
)
def expire_holds(
    caller: WriteAccess,
) -> ExpirySweep:
    return ExpirySweep(released=sweep_expired_holds(caller.databases.writer, caller.ctx))


QUERY_PARAMETERS = frozenset(
    ("account_id", "status", "created_from", "created_to", "transaction_id", "page_size",
     "page_token", "max_staleness")
)  # fmt: skip


@router.get(
    "/transfers",
    summary="Query transfers: by account (either side), status, creation time, transaction, "
    "labels; newest first",
    description=LABEL_FILTER_DESCRIPTION,
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound, InvalidTimeRange, InvalidPageToken),
)
def list_transfers(
    *,
    request: Request,
    caller: ReadAccess,
    account_id: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
    status: TransferStatus | None = None,
    created_from: Annotated[
        Instant | None, Query(description="RFC 3339 with a zone: created at or after.")
    ] = None,
    created_to: Annotated[
        Instant | None, Query(description="RFC 3339 with a zone: created before.")
    ] = None,
    transaction_id: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
    page_size: Annotated[int | None, Query(ge=1)] = None,
    page_token: Annotated[str | None, Query(max_length=512)] = None,
    max_staleness: MaxStaleness = None,
) -> TransferPage:
    labels = label_filters(request.query_params.multi_items(), QUERY_PARAMETERS)
    size = check_page_size(
        page_size, default=caller.settings.default_page_size, maximum=caller.settings.max_page_size
    )
    filters = TransferFilters(
        account_id=account_id,
        status=status,
        created_from=with_zone(created_from, "created_from"),
        created_to=with_zone(created_to, "created_to"),
        transaction_id=transaction_id,
        labels=labels,
    )
    return queries.list_transfers(
        databases=caller.databases, ctx=caller.ctx, signer=caller.token_signer, filters=filters,
        page_size=size, page_token=page_token, staleness=staleness(max_staleness, caller.settings),
    )  # fmt: skip


@router.get(
    "/transfers/{transfer_id:id}",
    summary="One transfer",
    responses=problem_responses(*AUTH_ERRORS, TransferNotFound),
)
def get_transfer(
    transfer_id: TransferIdPath,
    caller: ReadAccess,
) -> Transfer:
    return service.get_transfer(databases=caller.databases, ctx=caller.ctx, transfer_id=transfer_id)
