from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import AUTH_ERRORS
from api.balances import service
from api.balances.schemas import BalanceSnapshot, BalanceSnapshotAt
from api.deps import ReadAccess
from api.edge import EDGE_RESPONSES
from api.errors import problem_responses
from api.freshness import MaxStaleness, staleness
from api.instants import AsOf, InstantInFuture
from api.ledger.errors import AccountNotFound

router = APIRouter(
    prefix="/v1",
    tags=["balances"],
    responses=EDGE_RESPONSES,
)


@router.get(
    "/balances",
    summary="Balances of many accounts from ONE consistent snapshot; with as_of, their "
    "posted balances at that instant (one exact cut)",
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound, InstantInFuture),
)
def read_balances(
    *,
    account_ids: Annotated[str, Query(description="Comma-separated account ids.")],
    caller: ReadAccess,
    as_of: AsOf = None,
    max_staleness: MaxStaleness = None,
) -> BalanceSnapshot | BalanceSnapshotAt:
    ids = service.parse_account_ids(account_ids, maximum=caller.settings.max_balance_ids)
    stale = staleness(max_staleness, caller.settings)
    if as_of is not None:
        return service.read_balances_at(
            databases=caller.databases,
            ctx=caller.ctx,
            account_ids=ids,
            as_of=as_of,
            staleness=stale,
        )
    return service.read_balances(
        databases=caller.databases, ctx=caller.ctx, account_ids=ids, staleness=stale
    )
