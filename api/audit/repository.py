"""The only SQL and reads of the audit. Every function takes the audit's one snapshot.

Per-account reads are key ranges (an account page in key order; an account's entries
in windows of sequence numbers, so a long history is read a page at a time). The
cross-row checks are SQL that Spanner evaluates, returning only the rows that break a
rule, at most ``limit`` of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.cloud.spanner_v1 import param_types

from api.audit.checks import AuditAccount, AuditEntry, HeldTotals
from api.ids import INT64_MAX
from api.spanner.tx import Params, Row, Tx

INT64_MIN = -(2**63)

AUDIT_ACCOUNT_COLUMNS = (
    "KeyHash",
    "AccountId",
    "Currency",
    "DebitsPosted",
    "CreditsPosted",
    "DebitsPending",
    "CreditsPending",
    "Version",
)
AUDIT_ENTRY_COLUMNS = (
    "Sequence", "Amount", "BalanceAfter", "PendingAmount", "DebitsAfter", "CreditsAfter",
)  # fmt: skip


def account_page(tx: Tx, *, after: tuple[int, str] | None, limit: int) -> list[AuditAccount]:
    """Up to ``limit`` accounts in key order, after the key ``after`` (None: the first)."""
    # KeyHash is a signed 64-bit hash: the whole table lies between its extremes.
    rows = tx.read_range(
        "Accounts",
        AUDIT_ACCOUNT_COLUMNS,
        start=list(after) if after is not None else [INT64_MIN],
        start_open=after is not None,
        end=[INT64_MAX],
        limit=limit,
    )
    return [
        AuditAccount(
            key_hash=row["KeyHash"],
            id=row["AccountId"],
            currency=row["Currency"],
            debits_posted=row["DebitsPosted"],
            credits_posted=row["CreditsPosted"],
            debits_pending=row["DebitsPending"],
            credits_pending=row["CreditsPending"],
            version=row["Version"],
        )
        for row in rows
    ]


def entry_window(tx: Tx, account: AuditAccount, *, lowest: int, highest: int) -> list[AuditEntry]:
    """The account's entries with ``lowest`` <= Sequence <= ``highest``, oldest first."""
    key = [account.key_hash, account.id]
    # Sequence is DESC in the key: the range starts at its higher end.
    rows = tx.read_range("Entries", AUDIT_ENTRY_COLUMNS, start=[*key, highest], end=[*key, lowest])
    return [
        AuditEntry(
            sequence=row["Sequence"],
            amount=row["Amount"],
            balance_after=row["BalanceAfter"],
            pending_amount=row["PendingAmount"],
            totals_after=_totals_after(row),
        )
        for row in reversed(rows)
    ]


def _totals_after(row: Row) -> tuple[int, int] | None:
    debits, credits = row["DebitsAfter"], row["CreditsAfter"]
    return None if debits is None or credits is None else (debits, credits)


def entry_windows(version: int, page: int) -> list[tuple[int, int]]:
    """Sequence windows covering 1..``version`` by ``page``, the first open below and
    the last open above (entries outside 1..Version are damage the audit must see)."""
    count = max(1, -(-version // page))
    windows = [(n * page + 1, (n + 1) * page) for n in range(count)]
    windows[0] = (INT64_MIN, windows[0][1])
    windows[-1] = (windows[-1][0], INT64_MAX)
    return windows


# Each account against the holds still pending in Transfers, by side.
PENDING_HOLDS_SQL = """
SELECT a.AccountId, a.DebitsPending, a.CreditsPending,
       COALESCE(d.Held, 0) AS HeldDebits, COALESCE(c.Held, 0) AS HeldCredits
FROM Accounts a
LEFT JOIN (SELECT DebitAccountId AS Id, SUM(Amount) AS Held FROM Transfers
           WHERE Status = 'pending' GROUP BY DebitAccountId) d ON d.Id = a.AccountId
LEFT JOIN (SELECT CreditAccountId AS Id, SUM(Amount) AS Held FROM Transfers
           WHERE Status = 'pending' GROUP BY CreditAccountId) c ON c.Id = a.AccountId
WHERE a.DebitsPending != COALESCE(d.Held, 0) OR a.CreditsPending != COALESCE(c.Held, 0)
ORDER BY a.AccountId LIMIT @limit"""

# The rules of one transfer row (api/ledger/transfer_rules.py), each with its own code; the
# first that fails is reported.
TRANSFER_RULES_SQL = """
SELECT TransferId, Problem, Amount, Status, PostedAmount, ReversedAmount FROM (
  SELECT TransferId, Amount, Status, PostedAmount, ReversedAmount, CASE
    WHEN Status NOT IN ('posted', 'pending', 'voided', 'expired') THEN 'unknown status'
    WHEN NOT Pending AND Status != 'posted' THEN 'not a hold, yet not posted'
    WHEN Pending AND Status = 'posted' AND PostedAmount IS NULL
      THEN 'posted hold without PostedAmount'
    WHEN PostedAmount IS NOT NULL AND (PostedAmount < 0 OR PostedAmount > Amount)
      THEN 'PostedAmount outside 0..Amount'
    WHEN ReversedAmount < 0 THEN 'negative ReversedAmount'
    WHEN ReversedAmount > 0 AND Status != 'posted' THEN 'reversed, yet not posted'
    WHEN ReversedAmount > IF(Pending, COALESCE(PostedAmount, 0), Amount)
      THEN 'ReversedAmount above what was posted'
  END AS Problem
  FROM Transfers)
WHERE Problem IS NOT NULL ORDER BY TransferId LIMIT @limit"""

# What each transfer says was reversed, against the reversals that name it.
REVERSAL_TOTALS_SQL = """
SELECT o.TransferId, o.ReversedAmount, COALESCE(r.Total, 0) AS Reversals
FROM Transfers o
LEFT JOIN (SELECT ReversesTransferId AS Id, SUM(Amount) AS Total FROM Transfers
           WHERE ReversesTransferId IS NOT NULL GROUP BY ReversesTransferId) r
  ON r.Id = o.TransferId
WHERE o.ReversedAmount != COALESCE(r.Total, 0)
ORDER BY o.TransferId LIMIT @limit"""

# Transactions against their legs (Transfers with their TransactionId), both ways.
TRANSACTION_LEGS_SQL = """
SELECT COALESCE(x.TransactionId, l.TransactionId) AS TransactionId,
       x.LegCount, COALESCE(l.Legs, 0) AS Legs, COALESCE(l.Statuses, 0) AS Statuses
FROM Transactions x
FULL JOIN (SELECT TransactionId, COUNT(*) AS Legs, COUNT(DISTINCT Status) AS Statuses
           FROM Transfers WHERE TransactionId IS NOT NULL GROUP BY TransactionId) l
  ON l.TransactionId = x.TransactionId
WHERE x.TransactionId IS NULL OR COALESCE(l.Legs, 0) != x.LegCount
   OR COALESCE(l.Statuses, 0) > 1
ORDER BY TransactionId LIMIT @limit"""

COUNTS_SQL = (
    "SELECT (SELECT COUNT(*) FROM Transfers) AS Transfers,"
    " (SELECT COUNT(*) FROM Transactions) AS Transactions"
)


def _limit(limit: int) -> Params:
    return {"limit": (limit, param_types.INT64)}


def pending_hold_mismatches(tx: Tx, *, limit: int) -> dict[str, HeldTotals]:
    return {
        row["AccountId"]: HeldTotals(
            row["AccountId"],
            row["DebitsPending"],
            row["CreditsPending"],
            row["HeldDebits"],
            row["HeldCredits"],
        )
        for row in tx.query(PENDING_HOLDS_SQL, _limit(limit))
    }


@dataclass(frozen=True)
class TransferProblem:
    transfer_id: str
    problem: str
    amount: int
    status: str
    posted_amount: int | None
    reversed_amount: int


def transfer_rule_violations(tx: Tx, *, limit: int) -> list[TransferProblem]:
    return [
        TransferProblem(
            row["TransferId"],
            row["Problem"],
            row["Amount"],
            row["Status"],
            row["PostedAmount"],
            row["ReversedAmount"],
        )
        for row in tx.query(TRANSFER_RULES_SQL, _limit(limit))
    ]


def reversal_total_mismatches(tx: Tx, *, limit: int) -> list[tuple[str, int, int]]:
    """(transfer id, its ReversedAmount, the sum of the reversals naming it)."""
    rows = tx.query(REVERSAL_TOTALS_SQL, _limit(limit))
    return [(row["TransferId"], row["ReversedAmount"], row["Reversals"]) for row in rows]


@dataclass(frozen=True)
class LegProblem:
    transaction_id: str
    leg_count: int | None  # None: legs name a transaction that does not exist
    legs: int
    statuses: int


def transaction_leg_mismatches(tx: Tx, *, limit: int) -> list[LegProblem]:
    return [
        LegProblem(row["TransactionId"], row["LegCount"], row["Legs"], row["Statuses"])
        for row in tx.query(TRANSACTION_LEGS_SQL, _limit(limit))
    ]


def row_counts(tx: Tx) -> dict[str, int]:
    [row] = tx.query(COUNTS_SQL)
    return {"transfers": row["Transfers"], "transactions": row["Transactions"]}
