"""An account's history: its entries by time and by sequence, its balances at an instant,
statements, and the backfill of entries' totals. The accounts resource's SQL over
Entries (what a commit writes there is the engine's: api/ledger/repository/accounts.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.accounts.model import AccountRecord
from api.accounts.repository import read_accounts
from api.ids import key_hash
from api.ledger.records import EntryRecord
from api.ledger.repository.accounts import ENTRY_COLUMNS
from api.spanner.tx import Row, Tx


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
