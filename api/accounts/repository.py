"""The only place that reads or writes Accounts and Entries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from api.accounts.model import AccountRecord, EntryRecord
from api.ids import key_hash
from api.spanner.tx import Params, Row, Tx
from api.spanner.values import json_from_column, json_to_column

ACCOUNT_COLUMNS = (
    "AccountId", "Currency", "DebitsMustNotExceedCredits", "CreditsMustNotExceedDebits",
    "Metadata", "DebitsPosted", "CreditsPosted", "DebitsPending", "CreditsPending",
    "Version", "RequestHash", "CreatedAt", "UpdatedAt", "Closed", "BalanceLowerBound",
    "BalanceUpperBound", "Labels",
)  # fmt: skip
_ACCOUNT_KEY = param_types.Struct(
    [
        param_types.StructField("KeyHash", param_types.INT64),
        param_types.StructField("AccountId", param_types.STRING),
    ]
)
ENTRY_COLUMNS = (
    "AccountId", "Sequence", "TransferId", "Amount", "BalanceAfter", "Kind", "PendingAmount",
    "PostedAt",
)  # fmt: skip


def _account(row: Row) -> AccountRecord:
    return AccountRecord(
        id=row["AccountId"],
        currency=row["Currency"],
        debits_must_not_exceed_credits=row["DebitsMustNotExceedCredits"],
        credits_must_not_exceed_debits=row["CreditsMustNotExceedDebits"],
        metadata=json_from_column(row["Metadata"]),
        debits_posted=row["DebitsPosted"],
        credits_posted=row["CreditsPosted"],
        debits_pending=row["DebitsPending"],
        credits_pending=row["CreditsPending"],
        version=row["Version"],
        request_hash=row["RequestHash"],
        created_at=row["CreatedAt"],
        updated_at=row["UpdatedAt"],
        closed=row["Closed"],
        lower_bound=row["BalanceLowerBound"],
        upper_bound=row["BalanceUpperBound"],
        labels=_labels(row["Labels"]),
    )


def _labels(value: object) -> dict[str, str] | None:
    labels = json_from_column(value)
    return {str(k): str(v) for k, v in labels.items()} if labels else None


def label_rows(labels: dict[str, str] | None) -> list[tuple[str, str]]:
    return sorted((labels or {}).items())


def _entry(row: Row) -> EntryRecord:
    return EntryRecord(
        account_id=row["AccountId"],
        sequence=row["Sequence"],
        transfer_id=row["TransferId"],
        amount=row["Amount"],
        balance_after=row["BalanceAfter"],
        kind=row["Kind"],
        pending_amount=row["PendingAmount"],
        posted_at=row["PostedAt"],
    )


def read_accounts(tx: Tx, account_ids: Iterable[str]) -> dict[str, AccountRecord]:
    keys = [(key_hash(i), i) for i in dict.fromkeys(account_ids)]
    rows = tx.read("Accounts", ACCOUNT_COLUMNS, keys)
    return {record.id: record for record in map(_account, rows)}


def read_account(tx: Tx, account_id: str) -> AccountRecord | None:
    return read_accounts(tx, [account_id]).get(account_id)


def list_accounts(
    tx: Tx,
    *,
    limit: int,
    after: tuple[int, str] | None,
    currency: str | None,
    labels: dict[str, str] | None = None,
) -> list[tuple[int, AccountRecord]]:
    """Accounts in key order, after the given (KeyHash, AccountId) position. With labels:
    a seek on the first pair's AccountLabels rows, the others checked by key."""
    where: list[str] = []
    params: Params = {"limit": (limit, param_types.INT64)}
    source = "Accounts a"
    for n, (key, value) in enumerate(label_rows(labels)):
        params[f"lk{n}"] = (key, param_types.STRING)
        params[f"lv{n}"] = (value, param_types.STRING)
        pair = f"l{n}.LabelKey = @lk{n} AND l{n}.LabelValue = @lv{n}"
        if n == 0:
            source = (
                "AccountLabels l0 JOIN Accounts a"
                " ON a.KeyHash = l0.KeyHash AND a.AccountId = l0.AccountId"
            )
            where.append(pair)
        else:
            where.append(
                f"EXISTS (SELECT 1 FROM AccountLabels l{n} WHERE {pair}"  # noqa: S608
                f" AND l{n}.KeyHash = a.KeyHash AND l{n}.AccountId = a.AccountId)"
            )
    if currency is not None:
        where.append("a.Currency = @currency")
        params["currency"] = (currency, param_types.STRING)
    if after is not None:
        where.append(
            "(a.KeyHash > @after_hash OR (a.KeyHash = @after_hash AND a.AccountId > @after_id))"
        )
        params["after_hash"] = (after[0], param_types.INT64)
        params["after_id"] = (after[1], param_types.STRING)
    columns = ", ".join(f"a.{c}" for c in ("KeyHash", *ACCOUNT_COLUMNS))
    # Only constant fragments are joined here; every value is a bound parameter.
    sql = (
        f"SELECT {columns} FROM {source}"  # noqa: S608
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY a.KeyHash, a.AccountId LIMIT @limit"
    )
    return [(row["KeyHash"], _account(row)) for row in tx.query(sql, params)]


def _last_entry(
    column: str, comparison: str, bound: str, *, of: tuple[str, str] = ("@hash", "@id")
) -> str:
    """SQL for ``column`` of the last entry of account ``of`` (its key hash and id)
    whose PostedAt is before (``<``) or at (``<=``) the parameter ``bound``: one seek on
    EntriesByTime (spanner_ddl/0007). Only constant text goes in; values are parameters.
    """
    key, account = of
    return (
        f"(SELECT e.{column} FROM Entries@{{FORCE_INDEX=EntriesByTime}} e"  # noqa: S608
        f" WHERE e.KeyHash = {key} AND e.AccountId = {account}"
        f" AND e.PostedAt {comparison} @{bound}"
        " ORDER BY e.PostedAt DESC, e.Sequence DESC LIMIT 1)"
    )


def _account_params(account_id: str) -> Params:
    return {
        "hash": (key_hash(account_id), param_types.INT64),
        "id": (account_id, param_types.STRING),
    }


def sequence_range(
    tx: Tx, account_id: str, posted_from: datetime | None, posted_to: datetime | None
) -> tuple[int, int | None]:
    """The account's entries posted in [from, to) as sequences: (after, up_to], by one
    seek on EntriesByTime per bound (the last entry before each)."""
    if posted_from is None and posted_to is None:
        return 0, None
    params = _account_params(account_id)
    parts = []
    for name, bound in (("posted_from", posted_from), ("posted_to", posted_to)):
        if bound is None:
            parts.append(f"CAST(NULL AS INT64) AS {name}")
        else:
            params[name] = (bound, param_types.TIMESTAMP)
            parts.append(f"IFNULL({_last_entry('Sequence', '<', name)}, 0) AS {name}")
    (row,) = tx.query(f"SELECT {', '.join(parts)}", params)
    return row["posted_from"] or 0, row["posted_to"]


def list_entries(
    tx: Tx,
    account_id: str,
    *,
    limit: int,
    before_sequence: int | None,
    sequences: tuple[int, int | None] = (0, None),
    kinds: tuple[str, ...] | None = None,
) -> list[EntryRecord]:
    """Newest first, in key order; only those in ``sequences`` (after, up_to] (see
    ``sequence_range``) and of ``kinds`` when given."""
    after, up_to = sequences
    params = _account_params(account_id)
    params["limit"] = (limit, param_types.INT64)
    params["after"] = (after, param_types.INT64)
    bounds = " AND Sequence > @after"
    if before_sequence is not None:
        bounds += " AND Sequence < @before"
        params["before"] = (before_sequence, param_types.INT64)
    if up_to is not None:
        bounds += " AND Sequence <= @up_to"
        params["up_to"] = (up_to, param_types.INT64)
    if kinds is not None:
        bounds += " AND Kind IN UNNEST(@kinds)"
        params["kinds"] = (list(kinds), param_types.Array(param_types.STRING))
    sql = (  # Constant fragments only; values are bound parameters.
        f"SELECT {', '.join(ENTRY_COLUMNS)} FROM Entries"  # noqa: S608
        f" WHERE KeyHash = @hash AND AccountId = @id{bounds}"
        " ORDER BY Sequence DESC LIMIT @limit"
    )
    return [_entry(row) for row in tx.query(sql, params)]


# The entry kinds that create a transfer: each transfer has one per side, posted at the
# transfer's CreatedAt.
CREATION_KINDS = ("transfer", "hold", "reversal")


@dataclass(frozen=True)
class BalanceAt:
    """An account's posted balance after its last entry at or before an instant."""

    account_id: str
    currency: str
    created_at: datetime
    sequence: int  # entries at or before the instant
    balance: int


def balances_at(tx: Tx, account_ids: Iterable[str], at: datetime) -> dict[str, BalanceAt]:
    """Posted balances of the accounts at ``at``, two seeks per account, one query."""
    ids = list(dict.fromkeys(account_ids))
    params: Params = {
        "keys": ([(key_hash(i), i) for i in ids], param_types.Array(_ACCOUNT_KEY)),
        "at": (at, param_types.TIMESTAMP),
    }
    of = ("a.KeyHash", "a.AccountId")
    sql = (
        "SELECT a.AccountId, a.Currency, a.CreatedAt,"  # noqa: S608 - constant fragments only
        f" IFNULL({_last_entry('Sequence', '<=', 'at', of=of)}, 0) AS Sequence,"
        f" IFNULL({_last_entry('BalanceAfter', '<=', 'at', of=of)}, 0) AS Balance"
        " FROM Accounts a WHERE STRUCT<KeyHash INT64, AccountId STRING>(a.KeyHash, a.AccountId)"
        " IN UNNEST(@keys)"
    )
    return {
        row["AccountId"]: BalanceAt(
            account_id=row["AccountId"],
            currency=row["Currency"],
            created_at=row["CreatedAt"],
            sequence=row["Sequence"],
            balance=row["Balance"],
        )
        for row in tx.query(sql, params)
    }


@dataclass(frozen=True)
class StatementTotals:
    opening_balance: int
    closing_balance: int
    debits: int  # what left the account, as a positive number
    credits: int
    entry_count: int


def statement_totals(
    tx: Tx, account_id: str, posted_from: datetime, posted_to: datetime
) -> StatementTotals:
    """The entries with ``posted_from`` <= PostedAt < ``posted_to``, summed: one range
    seek on EntriesByTime, and one seek for the balance before each bound."""
    params = _account_params(account_id)
    params["posted_from"] = (posted_from, param_types.TIMESTAMP)
    params["posted_to"] = (posted_to, param_types.TIMESTAMP)
    sql = (
        "SELECT COUNT(*) AS EntryCount,"  # noqa: S608 - constant fragments only
        " IFNULL(SUM(IF(Amount < 0, -Amount, 0)), 0) AS Debits,"
        " IFNULL(SUM(IF(Amount > 0, Amount, 0)), 0) AS Credits,"
        f" IFNULL({_last_entry('BalanceAfter', '<', 'posted_from')}, 0) AS Opening,"
        f" IFNULL({_last_entry('BalanceAfter', '<', 'posted_to')}, 0) AS Closing"
        " FROM Entries@{FORCE_INDEX=EntriesByTime}"
        " WHERE KeyHash = @hash AND AccountId = @id"
        " AND PostedAt >= @posted_from AND PostedAt < @posted_to"
    )
    (row,) = tx.query(sql, params)
    return StatementTotals(
        opening_balance=row["Opening"],
        closing_balance=row["Closing"],
        debits=row["Debits"],
        credits=row["Credits"],
        entry_count=row["EntryCount"],
    )


def insert_account(tx: Tx, account: AccountRecord) -> None:
    tx.insert(
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
                account.closed,
                account.lower_bound,
                account.upper_bound,
                json_to_column(account.labels),
            )
        ],
    )
    tx.insert(
        "AccountLabels",
        ("LabelKey", "LabelValue", "KeyHash", "AccountId"),
        [(k, v, key_hash(account.id), account.id) for k, v in label_rows(account.labels)],
    )


def update_status(tx: Tx, account: AccountRecord) -> None:
    """Write whether the account is closed (and when it last changed)."""
    tx.update(
        "Accounts",
        ("KeyHash", "AccountId", "Closed", "UpdatedAt"),
        [(key_hash(account.id), account.id, account.closed, spanner.COMMIT_TIMESTAMP)],
    )


def buffer_postings(tx: Tx, accounts: Iterable[AccountRecord]) -> None:
    """Write the new totals of each changed account and the entries behind them."""
    changed = [a for a in accounts if a.new_entries]
    if not changed:
        return
    tx.update(
        "Accounts",
        ("KeyHash", "AccountId", "DebitsPosted", "CreditsPosted", "DebitsPending",
         "CreditsPending", "Version", "UpdatedAt"),
        [
            (key_hash(a.id), a.id, a.debits_posted, a.credits_posted, a.debits_pending,
             a.credits_pending, a.version, spanner.COMMIT_TIMESTAMP)
            for a in changed
        ],
    )  # fmt: skip
    tx.insert(
        "Entries",
        ("KeyHash", *ENTRY_COLUMNS),
        [
            (key_hash(e.account_id), e.account_id, e.sequence, e.transfer_id, e.amount,
             e.balance_after, e.kind, e.pending_amount, spanner.COMMIT_TIMESTAMP)
            for a in changed
            for e in a.new_entries
        ],
    )  # fmt: skip
