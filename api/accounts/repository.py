"""The only place that reads or writes Accounts and Entries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from api.accounts.model import AccountRecord, EntryRecord
from api.ids import key_hash
from api.spanner.tx import Tx
from api.spanner.values import json_from_column, json_to_column

ACCOUNT_COLUMNS = (
    "AccountId", "Currency", "DebitsMustNotExceedCredits", "CreditsMustNotExceedDebits",
    "Metadata", "DebitsPosted", "CreditsPosted", "DebitsPending", "CreditsPending",
    "Version", "RequestHash", "CreatedAt", "UpdatedAt",
)  # fmt: skip
ENTRY_COLUMNS = ("AccountId", "Sequence", "TransferId", "Amount", "BalanceAfter", "PostedAt")


def _account(row: list[Any]) -> AccountRecord:
    return AccountRecord(
        id=row[0],
        currency=row[1],
        debits_must_not_exceed_credits=row[2],
        credits_must_not_exceed_debits=row[3],
        metadata=json_from_column(row[4]),
        debits_posted=row[5],
        credits_posted=row[6],
        debits_pending=row[7],
        credits_pending=row[8],
        version=row[9],
        request_hash=row[10],
        created_at=row[11],
        updated_at=row[12],
    )


def read_accounts(tx: Tx, account_ids: Iterable[str]) -> dict[str, AccountRecord]:
    keys = [[key_hash(i), i] for i in dict.fromkeys(account_ids)]
    if not keys:
        return {}
    rows = tx.raw.read("Accounts", ACCOUNT_COLUMNS, spanner.KeySet(keys=keys), **tx.options())
    return {record.id: record for record in map(_account, rows)}


def read_account(tx: Tx, account_id: str) -> AccountRecord | None:
    return read_accounts(tx, [account_id]).get(account_id)


def list_accounts(
    tx: Tx, *, limit: int, after: tuple[int, str] | None, currency: str | None
) -> list[tuple[int, AccountRecord]]:
    """Accounts in key order, after the given (KeyHash, AccountId) position."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    types: dict[str, Any] = {"limit": param_types.INT64}
    if currency is not None:
        where.append("Currency = @currency")
        params["currency"] = currency
        types["currency"] = param_types.STRING
    if after is not None:
        where.append("(KeyHash > @after_hash OR (KeyHash = @after_hash AND AccountId > @after_id))")
        params.update(after_hash=after[0], after_id=after[1])
        types.update(after_hash=param_types.INT64, after_id=param_types.STRING)
    # Only constant fragments are joined here; every value is a bound parameter.
    sql = (
        f"SELECT KeyHash, {', '.join(ACCOUNT_COLUMNS)} FROM Accounts"  # noqa: S608
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY KeyHash, AccountId LIMIT @limit"
    )
    rows = tx.raw.execute_sql(sql, params=params, param_types=types, **tx.options())
    return [(row[0], _account(row[1:])) for row in rows]


def list_entries(
    tx: Tx, account_id: str, *, limit: int, before_sequence: int | None
) -> list[EntryRecord]:
    params: dict[str, Any] = {"hash": key_hash(account_id), "id": account_id, "limit": limit}
    types = {"hash": param_types.INT64, "id": param_types.STRING, "limit": param_types.INT64}
    bound = ""
    if before_sequence is not None:
        bound = " AND Sequence < @before"
        params["before"] = before_sequence
        types["before"] = param_types.INT64
    sql = (  # Constant fragments only; values are bound parameters.
        f"SELECT {', '.join(ENTRY_COLUMNS)} FROM Entries"  # noqa: S608
        f" WHERE KeyHash = @hash AND AccountId = @id{bound}"
        " ORDER BY Sequence DESC LIMIT @limit"
    )
    rows = tx.raw.execute_sql(sql, params=params, param_types=types, **tx.options())
    return [EntryRecord(*row) for row in rows]


def insert_account(tx: Tx, account: AccountRecord) -> None:
    tx.raw.insert(
        "Accounts",
        ("KeyHash", *ACCOUNT_COLUMNS),
        [
            (
                key_hash(account.id),
                account.id,
                account.currency,
                account.debits_must_not_exceed_credits,
                account.credits_must_not_exceed_debits,
                json_to_column(account.metadata),
                account.debits_posted,
                account.credits_posted,
                account.debits_pending,
                account.credits_pending,
                account.version,
                account.request_hash,
                spanner.COMMIT_TIMESTAMP,
                spanner.COMMIT_TIMESTAMP,
            )
        ],
    )


def buffer_postings(tx: Tx, accounts: Iterable[AccountRecord]) -> None:
    """Write the new totals of each changed account and the entries behind them."""
    changed = [a for a in accounts if a.new_entries]
    if not changed:
        return
    tx.raw.update(
        "Accounts",
        ("KeyHash", "AccountId", "DebitsPosted", "CreditsPosted", "Version", "UpdatedAt"),
        [
            (key_hash(a.id), a.id, a.debits_posted, a.credits_posted, a.version,
             spanner.COMMIT_TIMESTAMP)
            for a in changed
        ],
    )  # fmt: skip
    tx.raw.insert(
        "Entries",
        ("KeyHash", *ENTRY_COLUMNS),
        [
            (key_hash(e.account_id), e.account_id, e.sequence, e.transfer_id, e.amount,
             e.balance_after, spanner.COMMIT_TIMESTAMP)
            for a in changed
            for e in a.new_entries
        ],
    )  # fmt: skip
