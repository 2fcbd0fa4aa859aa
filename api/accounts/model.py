"""The account as the domain sees it: plain data, no Spanner and no HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.accounts.schemas import Account, AccountFlags, BalanceBounds, Entry
from api.ledger.records import AccountState, EntryRecord


@dataclass(frozen=True, kw_only=True)
class AccountRecord(AccountState):
    """The whole account."""

    metadata: dict[str, Any] | None
    request_hash: str
    created_at: datetime | None  # None until the creating transaction commits
    updated_at: datetime | None
    labels: dict[str, str] | None = None

    def to_schema(self, *, commit_timestamp: datetime | None = None) -> Account:
        created = self.created_at or commit_timestamp
        updated = self.updated_at or created
        if created is None or updated is None:
            raise ValueError(f"account {self.id} has no timestamps yet")
        return Account(
            id=self.id,
            currency=self.currency,
            flags=AccountFlags(
                debits_must_not_exceed_credits=self.debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=self.credits_must_not_exceed_debits,
            ),
            metadata=self.metadata,
            labels=self.labels or {},
            debits_posted=self.debits_posted,
            credits_posted=self.credits_posted,
            debits_pending=self.debits_pending,
            credits_pending=self.credits_pending,
            balance=self.balance,
            available_balance=self.available_balance,
            bounds=BalanceBounds(lower=self.lower_bound, upper=self.upper_bound),
            status="closed" if self.closed else "open",
            version=self.version,
            created_at=created,
            updated_at=updated,
        )


def entry_to_schema(entry: EntryRecord) -> Entry:
    if entry.posted_at is None:
        raise ValueError("entry not committed yet")
    return Entry(
        account_id=entry.account_id,
        sequence=entry.sequence,
        transfer_id=entry.transfer_id,
        amount=entry.amount,
        balance_after=entry.balance_after,
        kind=entry.kind,
        pending_amount=entry.pending_amount,
        posted_at=entry.posted_at,
    )
