"""Accounts and their entries as the engine reads and writes them: an account's balances
and rules (``AccountState``), and the totals and entries a commit changes. (Opening,
reading, listing and an account's history are the accounts resource's:
api/accounts/repository.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from google.cloud import spanner

from api.ids import key_hash
from api.ledger.records import AccountState, EntryRecord
from api.spanner.tx import Tx

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


def _keys(account_ids: Iterable[str]) -> list[tuple[int, str]]:
    return [(key_hash(i), i) for i in dict.fromkeys(account_ids)]


def read_states(tx: Tx, account_ids: Iterable[str]) -> dict[str, AccountState]:
    """The balances and rules of the accounts, for applying transfers to them."""
    rows = tx.read_rows("Accounts", STATE_COLUMN_NAMES, _keys(account_ids))
    states = (AccountState(**dict(zip(STATE_FIELDS, row, strict=True))) for row in rows)
    return {state.id: state for state in states}


def buffer_postings(
    tx: Tx, accounts: Sequence[AccountState], entries: Sequence[EntryRecord]
) -> None:
    """Write the new totals of each changed account and the entries behind them."""
    changed = accounts
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
            for e in entries
        ],
    )  # fmt: skip
