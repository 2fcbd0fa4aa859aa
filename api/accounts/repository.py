"""Opening, reading and listing accounts, and an account's history: the accounts
resource's SQL. (What a commit changes of accounts and entries is the engine's:
api/ledger/repository/accounts.py.)"""

from __future__ import annotations

from collections.abc import Iterable

from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from api.accounts.model import AccountRecord
from api.ids import key_hash
from api.spanner.tx import Params, Row, Tx
from api.spanner.values import json_from_column, json_to_column

ACCOUNT_COLUMNS = (
    "AccountId", "Currency", "DebitsMustNotExceedCredits", "CreditsMustNotExceedDebits",
    "Metadata", "DebitsPosted", "CreditsPosted", "DebitsPending", "CreditsPending",
    "Version", "RequestHash", "CreatedAt", "UpdatedAt", "Closed", "BalanceLowerBound",
    "BalanceUpperBound", "Labels",
)  # fmt: skip


def account_from_row(row: Row) -> AccountRecord:
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


def _keys(account_ids: Iterable[str]) -> list[tuple[int, str]]:
    return [(key_hash(i), i) for i in dict.fromkeys(account_ids)]


def read_accounts(tx: Tx, account_ids: Iterable[str]) -> dict[str, AccountRecord]:
    rows = tx.read("Accounts", ACCOUNT_COLUMNS, _keys(account_ids))
    return {record.id: record for record in map(account_from_row, rows)}


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
    return [(row["KeyHash"], account_from_row(row)) for row in tx.query(sql, params)]


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
