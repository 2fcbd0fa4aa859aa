"""The account as the domain sees it: plain data, no Spanner and no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.accounts.schemas import Account, AccountFlags, BalanceBounds, Entry, EntryKind


@dataclass(kw_only=True)
class AccountState:
    """An account's balances and rules: all that applying transfers reads and changes
    (api.transfers.posting), so all that the transfers path reads of it."""

    id: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int
    closed: bool = False
    lower_bound: int | None = None  # on the balance, holds counted; None: unbounded
    upper_bound: int | None = None
    # Entries buffered by the current transaction, oldest first.
    new_entries: list[EntryRecord] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available_balance(self) -> int:
        """The balance less what holds reserve against it (pending debits)."""
        return self.balance - self.debits_pending

    @property
    def floor(self) -> int | None:
        """The lowest balance allowed (holds counted): the bound and the flag together."""
        flag = 0 if self.debits_must_not_exceed_credits else None
        floors = [b for b in (self.lower_bound, flag) if b is not None]
        return max(floors) if floors else None

    @property
    def ceiling(self) -> int | None:
        flag = 0 if self.credits_must_not_exceed_debits else None
        ceilings = [b for b in (self.upper_bound, flag) if b is not None]
        return min(ceilings) if ceilings else None


@dataclass(kw_only=True)
class AccountRecord(AccountState):
    """The whole account."""

    metadata: dict[str, Any] | None
    request_hash: str
    created_at: datetime | None  # None until the creating transaction commits
    updated_at: datetime | None
    labels: dict[str, str] | None = None

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


@dataclass(frozen=True)
class EntryRecord:
    account_id: str
    sequence: int
    transfer_id: str
    amount: int
    balance_after: int
    kind: EntryKind = "transfer"
    pending_amount: int = 0
    posted_at: datetime | None = None
    # The account's posted totals after this entry (a statement's two seeks read them);
    # None on entries written before spanner_ddl/0015 that no backfill has reached.
    debits_after: int | None = None
    credits_after: int | None = None

    def to_schema(self) -> Entry:
        if self.posted_at is None:
            raise ValueError("entry not committed yet")
        return Entry(
            account_id=self.account_id,
            sequence=self.sequence,
            transfer_id=self.transfer_id,
            amount=self.amount,
            balance_after=self.balance_after,
            kind=self.kind,
            pending_amount=self.pending_amount,
            posted_at=self.posted_at,
        )
