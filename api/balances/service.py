from __future__ import annotations

import re
from datetime import datetime, timedelta

from api.accounts import entries_repository
from api.accounts import repository as accounts_repository
from api.accounts.service import balance_at_wire
from api.balances.schemas import Balance, BalanceSnapshot, BalanceSnapshotAt
from api.context import RequestContext
from api.errors import ValidationFailed
from api.ids import ID_PATTERN
from api.instants import check_not_future, with_zone
from api.ledger.errors import AccountNotFound
from api.storage import DatabaseHandles


def parse_account_ids(raw: str, *, maximum: int) -> list[str]:
    """The ids of ``a,b,...`` exactly as the OpenAPI document declares them: no blanks,
    no spaces, at most ``maximum`` (counted as sent); a repeated id is read once."""
    parts = raw.split(",")
    if len(parts) > maximum:
        raise ValidationFailed(f"account_ids may name at most {maximum} accounts.")
    bad = [part for part in parts if not re.fullmatch(ID_PATTERN, part)]
    if bad:
        raise ValidationFailed(f"Not a valid account id: {bad[0][:80]!r}.")
    return list(dict.fromkeys(parts))


def read_balances(
    *,
    databases: DatabaseHandles,
    ctx: RequestContext,
    account_ids: list[str],
    staleness: timedelta | None = None,
) -> BalanceSnapshot:
    accounts, read_timestamp = databases.reader.read_consistent(
        lambda tx: accounts_repository.read_accounts(tx, account_ids),
        budget=ctx.budget("balances.read"),
        staleness=staleness,
    )
    missing = [i for i in account_ids if i not in accounts]
    if missing:
        raise AccountNotFound(f"Accounts do not exist: {', '.join(missing[:10])}.")
    return BalanceSnapshot(
        read_timestamp=read_timestamp,
        balances=[
            Balance(
                account_id=a.id,
                currency=a.currency,
                balance=a.balance,
                debits_posted=a.debits_posted,
                credits_posted=a.credits_posted,
                debits_pending=a.debits_pending,
                credits_pending=a.credits_pending,
                version=a.version,
            )
            for a in (accounts[i] for i in account_ids)
        ],
    )


def read_balances_at(
    *,
    databases: DatabaseHandles,
    ctx: RequestContext,
    account_ids: list[str],
    as_of: datetime,
    staleness: timedelta | None = None,
) -> BalanceSnapshotAt:
    """Posted balances of many accounts at one past instant: an exact cut, since commit
    timestamps are externally consistent (every entry at or before ``as_of`` has
    committed before a strong snapshot taken after it)."""
    with_zone(as_of, "as_of")
    # One snapshot for every account: one cut.
    balances, read_timestamp = databases.reader.read_consistent(
        lambda tx: entries_repository.balances_at(tx, account_ids, as_of),
        budget=ctx.budget("balances.read_at"),
        staleness=staleness,
    )
    check_not_future(as_of, read_timestamp, "as_of")
    missing = [i for i in account_ids if i not in balances]
    if missing:
        raise AccountNotFound(f"Accounts do not exist: {', '.join(missing[:10])}.")
    return BalanceSnapshotAt(
        as_of=as_of,
        read_timestamp=read_timestamp,
        balances=[balance_at_wire(balances[i], as_of) for i in account_ids],
    )
