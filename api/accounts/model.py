"""The account as the domain sees it: plain data, no Spanner and no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.accounts.schemas import Account, AccountFlags, Entry


@dataclass
class AccountRecord:
    id: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    metadata: dict[str, Any] | None
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int
    request_hash: str
    created_at: datetime | None  # None until the creating transaction commits
    updated_at: datetime | None
    # Entries buffered by the current transaction, oldest first.
    new_entries: list[EntryRecord] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    def to_schema(self, *, commit_timestamp: datetime | None = None) -> Account:
        created = self.created_at or commit_timestamp
        updated = commit_timestamp if self.new_entries else (self.updated_at or created)
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
            debits_posted=self.debits_posted,
            credits_posted=self.credits_posted,
            debits_pending=self.debits_pending,
            credits_pending=self.credits_pending,
            balance=self.balance,
            version=self.version,
            created_at=created,
            updated_at=updated,
        )


@dataclass(frozen=True)
class EntryRecord:
    account_id: str
    sequence: int
    transfer_id: str
    amount: int
    balance_after: int
    posted_at: datetime | None = None

    def to_schema(self) -> Entry:
        if self.posted_at is None:
            raise ValueError("entry not committed yet")
        return Entry(
            account_id=self.account_id,
            sequence=self.sequence,
            transfer_id=self.transfer_id,
            amount=self.amount,
            balance_after=self.balance_after,
            posted_at=self.posted_at,
        )
