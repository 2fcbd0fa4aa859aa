from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.accounts import service
from api.accounts.errors import AccountHasPending
from api.accounts.schemas import (
    Account,
    AccountBalanceAt,
    AccountCreate,
    AccountPage,
    EntryPage,
    Statement,
)
from api.auth import AUTH_ERRORS
from api.deps import ReadAccess, WriteAccess
from api.edge import EDGE_RESPONSES
from api.errors import IdempotencyConflict, problem_responses
from api.filters import LABEL_FILTER_DESCRIPTION, label_filters
from api.freshness import MaxStaleness, staleness
from api.ids import ID_PATTERN
from api.instants import (
    AsOf,
    Instant,
    InstantInFuture,
    InvalidTimeRange,
    RangeFrom,
    RangeTo,
)
from api.ledger.errors import AccountNotFound
from api.limits import check_page_size
from api.pagination import InvalidPageToken

LIST_PARAMETERS = frozenset(("page_size", "page_token", "currency", "max_staleness"))

router = APIRouter(
    prefix="/v1",
    tags=["accounts"],
    responses=EDGE_RESPONSES,
)

AccountIdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]
PageToken = Annotated[str | None, Query(max_length=512)]


@router.post(
    "/accounts",
    status_code=201,
    summary="Open an account",
    responses={
        200: {"model": Account, "description": "Replay: the account this id already names."},
        **problem_responses(*AUTH_ERRORS, IdempotencyConflict),
    },
)
def open_account(
    body: AccountCreate,
    response: Response,
    caller: WriteAccess,
) -> Account:
    account, created = service.open_account(
        databases=caller.databases, settings=caller.settings, ctx=caller.ctx, request=body
    )
    response.status_code = 201 if created else 200
    return account


@router.post(
    "/accounts/{account_id}:close",
    summary="Close an account: it takes no new transfers (repeat: same answer)",
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound, AccountHasPending),
)
def close_account(
    account_id: AccountIdPath,
    caller: WriteAccess,
) -> Account:
    return service.set_closed(
        databases=caller.databases, ctx=caller.ctx, account_id=account_id, closed=True
    )


@router.post(
    "/accounts/{account_id}:reopen",
    summary="Reopen a closed account (repeat: same answer)",
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound),
)
def reopen_account(
    account_id: AccountIdPath,
    caller: WriteAccess,
) -> Account:
    return service.set_closed(
        databases=caller.databases, ctx=caller.ctx, account_id=account_id, closed=False
    )


@router.get(
    "/accounts/{account_id:id}",
    summary="One account with its balances; with as_of, its posted balance at that instant",
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound, InstantInFuture),
)
def get_account(
    account_id: AccountIdPath,
    caller: ReadAccess,
    as_of: AsOf = None,
) -> Account | AccountBalanceAt:
    if as_of is not None:
        return service.get_account_at(
            databases=caller.databases, ctx=caller.ctx, account_id=account_id, as_of=as_of
        )
    return service.get_account(databases=caller.databases, ctx=caller.ctx, account_id=account_id)


@router.get(
    "/accounts",
    summary="List accounts (keyset pagination; stable, unspecified order); filters: "
    "currency, label.KEY=VALUE",
    description=LABEL_FILTER_DESCRIPTION,
    responses=problem_responses(*AUTH_ERRORS, InvalidPageToken),
)
def list_accounts(
    *,
    caller: ReadAccess,
    page_size: int | None = None,
    page_token: PageToken = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z][A-Z0-9]{2,15}$")] = None,
    max_staleness: MaxStaleness = None,
    request: Request,
) -> AccountPage:
    labels = label_filters(request.query_params.multi_items(), LIST_PARAMETERS)
    size = check_page_size(
        page_size, default=caller.settings.default_page_size, maximum=caller.settings.max_page_size
    )
    return service.list_accounts(
        databases=caller.databases, ctx=caller.ctx, signer=caller.token_signer, page_size=size,
        page_token=page_token,
        currency=currency, labels=labels, staleness=staleness(max_staleness, caller.settings),
    )  # fmt: skip


@router.get(
    "/accounts/{account_id}/entries",
    summary="The account's entries, newest first; from/to: posted in [from, to)",
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound, InvalidTimeRange, InvalidPageToken),
)
def list_entries(
    *,
    account_id: AccountIdPath,
    caller: ReadAccess,
    page_size: int | None = None,
    page_token: PageToken = None,
    posted_from: RangeFrom = None,
    posted_to: RangeTo = None,
    max_staleness: MaxStaleness = None,
) -> EntryPage:
    size = check_page_size(
        page_size, default=caller.settings.default_page_size, maximum=caller.settings.max_page_size
    )
    return service.list_entries(
        databases=caller.databases,
        ctx=caller.ctx,
        account_id=account_id,
        signer=caller.token_signer,
        page_size=size,
        page_token=page_token,
        posted_from=posted_from,
        posted_to=posted_to,
        staleness=staleness(max_staleness, caller.settings),
    )


@router.get(
    "/accounts/{account_id}/statement",
    summary="Opening and closing balance, debits, credits and entry count over [from, to)",
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound, InvalidTimeRange, InstantInFuture),
)
def get_statement(
    *,
    account_id: AccountIdPath,
    caller: ReadAccess,
    max_staleness: MaxStaleness = None,
    posted_from: Annotated[
        Instant, Query(alias="from", description="RFC 3339 with a zone: the range's start.")
    ],
    posted_to: RangeTo = None,
) -> Statement:
    return service.statement(
        databases=caller.databases,
        ctx=caller.ctx,
        account_id=account_id,
        posted_from=posted_from,
        posted_to=posted_to,
        staleness=staleness(max_staleness, caller.settings),
    )
