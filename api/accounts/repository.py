"""The only place that reads or writes Accounts and Entries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from api.accounts.model import AccountRecord, AccountState, EntryRecord
from api.ids import key_hash
from api.spanner.tx import Params, Row, Tx
from api.spanner.values import json_from_column, json_to_column

ACCOUNT_COLUMNS = (
    "AccountId", "Currency", "DebitsMustNotExceedCredits", "CreditsMustNotExceedDebits",
    "Metadata", "DebitsPosted", "CreditsPosted", "DebitsPending", "CreditsPending",
    "Version", "RequestHash", "CreatedAt", "UpdatedAt", "Closed", "BalanceLowerBound",
    "BalanceUpperBound", "Labels",
)  # fmt: skip
# What applying transfers reads: AccountState's fields (no JSON, no timestamps), by column.
STATE_COLUMNS = {
    "AccountId": "id",
    "Currency": "currency",
    "DebitsMustNotExceedCredits": "debits_must_not_exceed_credits",
    "CreditsMustNotExceedDebits": "credits_must_not_exceed_debits",
    "DebitsPosted": "debits_posted",
    "CreditsPosted": "credits_posted",
    "DebitsPending": "debits_pending",
    "CreditsPending": "credits_pending",
    "Version": "version",
    "Closed": "closed",
    "BalanceLowerBound": "lower_bound",
    "BalanceUpperBound": "upper_bound",
}
STATE_COLUMN_NAMES = tuple(STATE_COLUMNS)
STATE_FIELDS = tuple(STATE_COLUMNS.values())
ENTRY_COLUMNS = (
    "AccountId", "Sequence", "TransferId", "Amount", "BalanceAfter", "Kind", "PendingAmount",
    "PostedAt", "DebitsAfter", "CreditsAfter",
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
        debits_after=row["DebitsAfter"],
        credits_after=row["CreditsAfter"],
    )


def _keys(account_ids: Iterable[str]) -> list[tuple[int, str]]:
    return [(key_hash(i), i) for i in dict.fromkeys(account_ids)]


def read_accounts(tx: Tx, account_ids: Iterable[str]) -> dict[str, AccountRecord]:
    rows = tx.read("Accounts", ACCOUNT_COLUMNS, _keys(account_ids))
    return {record.id: record for record in map(account_from_row, rows)}


def read_states(tx: Tx, account_ids: Iterable[str]) -> dict[str, AccountState]:
    """The balances and rules of the accounts, for applying transfers to them."""
    rows = tx.read_rows("Accounts", STATE_COLUMN_NAMES, _keys(account_ids))
    states = (AccountState(**dict(zip(STATE_FIELDS, row, strict=True))) for row in rows)
    return {state.id: state for state in states}


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


# History by time reads EntriesByPostedAt (spanner_ddl/0015) with key ranges, and entries
# by sequence: every read names both ends of its range, so it touches only what it
# returns (Spanner stops a limited range read early; the emulator walks the whole range
# first). The index key is (KeyHash, AccountId, PostedAt DESC, Sequence DESC): for one
# account newest first, so a range starts at its later bound, and the entries of one
# commit (one PostedAt) last first, so "the last entry at or before T" is the last of
# its commit, never an arbitrary one of them.
ENTRIES_BY_TIME = "EntriesByPostedAt"
POSITION_COLUMNS = ("Sequence", "BalanceAfter", "DebitsAfter", "CreditsAfter")
# "The last entry before T" looks back through windows, each 16x the last, never before
# the account was opened. The first spans a few of the account's average gaps between
# entries, so it usually holds the entry sought and little else, however busy the
# account: one read on Cloud Spanner (which stops a limited read at its first row) and
# on the emulator (which walks the whole window first).
ENTRIES_PER_FIRST_WINDOW = 4
SHORTEST_WINDOW = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Totals:
    """An account's posted totals: what left it (debits) and what came in (credits)."""

    debits: int
    credits: int


@dataclass(frozen=True)
class Position:
    """An account's history after its first ``sequence`` entries. A point-in-time read
    is one position; a range is two, and what happened in it is their difference, so
    its cost does not grow with what it holds."""

    sequence: int
    balance: int
    # None after an entry written before spanner_ddl/0015 and not yet backfilled
    # (python -m api.accounts.backfill).
    totals: Totals | None


BEGINNING = Position(sequence=0, balance=0, totals=Totals(debits=0, credits=0))


def _totals(row: Row) -> Totals | None:
    debits, credits = row["DebitsAfter"], row["CreditsAfter"]
    return Totals(debits, credits) if debits is not None and credits is not None else None


def _position(row: Row) -> Position:
    return Position(row["Sequence"], row["BalanceAfter"], _totals(row))


def position_at(
    tx: Tx, account: AccountRecord, instant: datetime, *, inclusive: bool = False
) -> Position:
    """After the account's last entry posted before ``instant`` (or at it): one seek."""
    if account.version == 0:  # read in this snapshot: no entry yet
        return BEGINNING
    key = (key_hash(account.id), account.id)
    opened = account.created_at
    window = _first_window(account)
    while True:
        try:
            lower: datetime | None = instant - window
        except OverflowError:  # reaches before year 1: the whole history is the window
            lower = None
        last = lower is None or (opened is not None and lower <= opened)
        rows = tx.read_range(
            "Entries", POSITION_COLUMNS, start=(*key, instant), start_open=not inclusive,
            end=key if last or lower is None else (*key, lower), index=ENTRIES_BY_TIME,
            limit=1,
        )  # fmt: skip
        if rows:
            return _position(rows[0])
        if last or opened is None:
            return BEGINNING
        window *= 16


def _first_window(account: AccountRecord) -> timedelta:
    if account.created_at is None or account.updated_at is None:
        return SHORTEST_WINDOW
    gap = (account.updated_at - account.created_at) / account.version
    return max(SHORTEST_WINDOW, ENTRIES_PER_FIRST_WINDOW * gap)


def sequence_range(
    tx: Tx, account: AccountRecord, posted_from: datetime | None, posted_to: datetime | None
) -> tuple[int, int | None]:
    """The account's entries posted in [from, to) as sequences (after, up_to]."""
    after = position_at(tx, account, posted_from).sequence if posted_from is not None else 0
    up_to = position_at(tx, account, posted_to).sequence if posted_to is not None else None
    return after, up_to


def list_entries(
    tx: Tx,
    account: AccountRecord,
    *,
    limit: int,
    before_sequence: int | None,
    sequences: tuple[int, int | None] = (0, None),
) -> list[EntryRecord]:
    """Newest first, at most ``limit``, below ``before_sequence`` and within
    ``sequences`` (after, up_to] (see ``sequence_range``). Sequences are dense (1 to
    the account's version), so the page is exactly the range (top - limit, top]."""
    after, up_to = sequences
    top = min(s for s in (account.version, up_to, before_sequence and before_sequence - 1)
              if s is not None)  # fmt: skip
    bottom = max(after, top - limit)
    if top <= bottom:
        return []
    key = (key_hash(account.id), account.id)
    rows = tx.read_range(
        "Entries", ENTRY_COLUMNS, start=(*key, top), end=(*key, bottom), end_open=True,
    )  # fmt: skip
    return [_entry(row) for row in rows]


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
    """Posted balances of the accounts at ``at``: one read of the accounts, then one
    seek per account (in the caller's snapshot: one cut)."""
    found = {}
    for account in read_accounts(tx, account_ids).values():
        if account.created_at is None:
            continue
        last = position_at(tx, account, at, inclusive=True)
        found[account.id] = BalanceAt(
            account_id=account.id,
            currency=account.currency,
            created_at=account.created_at,
            sequence=last.sequence,
            balance=last.balance,
        )
    return found


@dataclass(frozen=True)
class StatementTotals:
    opening_balance: int
    closing_balance: int
    debits: int  # what left the account, as a positive number
    credits: int
    entry_count: int


def statement_totals(
    tx: Tx, account: AccountRecord, posted_from: datetime, posted_to: datetime
) -> StatementTotals:
    """The entries with ``posted_from`` <= PostedAt < ``posted_to``: the positions before
    either bound (two seeks), subtracted. Sequences are dense, so their difference is
    the count."""
    opening = position_at(tx, account, posted_from)
    closing = position_at(tx, account, posted_to)
    if opening.totals is None or closing.totals is None:
        debits, credits = _summed(tx, account, opening.sequence, closing.sequence)
    else:
        debits = closing.totals.debits - opening.totals.debits
        credits = closing.totals.credits - opening.totals.credits
    return StatementTotals(
        opening_balance=opening.balance,
        closing_balance=closing.balance,
        debits=debits,
        credits=credits,
        entry_count=closing.sequence - opening.sequence,
    )


def _summed(tx: Tx, account: AccountRecord, after: int, up_to: int) -> tuple[int, int]:
    """Debits and credits of the entries (after, up_to], from their amounts: for bounds
    that carry no totals, which only entries older than spanner_ddl/0015 lack. A scan,
    but still a correct answer while the backfill has not run."""
    if up_to <= after:
        return 0, 0
    key = (key_hash(account.id), account.id)
    rows = tx.read_range(
        "Entries", ("Amount",), start=(*key, up_to), end=(*key, after), end_open=True
    )
    amounts = [row["Amount"] for row in rows]
    return -sum(a for a in amounts if a < 0), sum(a for a in amounts if a > 0)


# --- the backfill of entry totals (api/accounts/backfill.py) ----------------------------


@dataclass(frozen=True)
class Untotalled:
    """An account with entries that carry no totals, and the sequences they span."""

    account_id: str
    lowest: int
    highest: int


def untotalled_accounts(tx: Tx) -> list[Untotalled]:
    """Every account with entries written before spanner_ddl/0015 (no totals). A scan of
    Entries: for the operator's one-off backfill, never for a request."""
    rows = tx.query(
        "SELECT AccountId, MIN(Sequence) AS Lowest, MAX(Sequence) AS Highest FROM Entries"
        " WHERE DebitsAfter IS NULL OR CreditsAfter IS NULL"
        " GROUP BY AccountId ORDER BY AccountId"
    )
    return [Untotalled(r["AccountId"], r["Lowest"], r["Highest"]) for r in rows]


@dataclass(frozen=True)
class TotalledEntry:
    sequence: int
    amount: int
    totals: Totals | None


def totalled_entries(tx: Tx, account_id: str, lowest: int, highest: int) -> list[TotalledEntry]:
    """The account's entries with ``lowest`` <= Sequence <= ``highest``, oldest first."""
    key = (key_hash(account_id), account_id)
    rows = tx.read_range(
        "Entries", ("Sequence", "Amount", "DebitsAfter", "CreditsAfter"),
        start=(*key, highest), end=(*key, lowest),
    )  # fmt: skip
    return [TotalledEntry(row["Sequence"], row["Amount"], _totals(row)) for row in reversed(rows)]


def write_entry_totals(tx: Tx, account_id: str, totals: dict[int, Totals]) -> None:
    """Set the totals after the account's entries at these sequences."""
    h = key_hash(account_id)
    tx.update(
        "Entries",
        ("KeyHash", "AccountId", "Sequence", "DebitsAfter", "CreditsAfter"),
        [(h, account_id, seq, t.debits, t.credits) for seq, t in sorted(totals.items())],
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


def buffer_postings(tx: Tx, accounts: Iterable[AccountState]) -> None:
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
             e.balance_after, e.kind, e.pending_amount, spanner.COMMIT_TIMESTAMP,
             e.debits_after, e.credits_after)
            for a in changed
            for e in a.new_entries
        ],
    )  # fmt: skip
