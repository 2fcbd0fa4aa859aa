"""What the ledger keeps, as the engine sees it: accounts' balances and rules, their
entries, transfers and multi-leg transactions. Plain data: no Spanner, no HTTP.

Every record is immutable: the engine changes state by storing a new record in place
of the old (api.ledger.state), the one way a commit's working state changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Self

from api.ids import LEG_SEPARATOR

TransferStatus = Literal["posted", "pending", "voided", "expired"]
Resolution = Literal["post", "void"]
EntryKind = Literal["transfer", "hold", "hold_posted", "hold_voided", "hold_expired", "reversal"]


@dataclass(frozen=True, kw_only=True)
class AccountState:
    """An account's balances and rules: all that applying transfers reads and changes,
    so all that the write path reads of it."""

    id: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int  # entries written; the next entry's sequence is version + 1
    closed: bool = False
    lower_bound: int | None = None  # on the balance, holds counted; None: unbounded
    upper_bound: int | None = None

    def booked(
        self, *, debits_posted: int, credits_posted: int, debits_pending: int,
        credits_pending: int,
    ) -> Self:  # fmt: skip
        """This account with these totals and one more entry. A copy of the instance's
        fields, not ``dataclasses.replace``: that re-runs ``__init__`` over every field,
        ~6 against ~1 us, and a transfer books two accounts (tests/ledger/test_rules.py
        pins the result to replace's)."""
        changed = object.__new__(type(self))
        fields = changed.__dict__
        fields.update(self.__dict__)
        fields["debits_posted"] = debits_posted
        fields["credits_posted"] = credits_posted
        fields["debits_pending"] = debits_pending
        fields["credits_pending"] = credits_pending
        fields["version"] = self.version + 1
        return changed

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


@dataclass(frozen=True)
class TransferRecord:
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    status: TransferStatus
    metadata: dict[str, Any] | None
    request_hash: str
    created_at: datetime | None  # None until the creating commit
    pending: bool = False  # created as a hold
    expires_at: datetime | None = None
    posted_amount: int | None = None
    resolved_at: datetime | None = None  # None until the resolving commit
    reverses_transfer_id: str | None = None
    reversed_amount: int = 0
    transaction_id: str | None = None
    labels: dict[str, str] | None = None

    @property
    def resolved(self) -> bool:
        """A hold that is no longer pending."""
        return self.pending and self.status != "pending"

    @property
    def reversible_amount(self) -> int:
        """What may still be reversed: what was posted, less what was reversed."""
        posted = self.amount if not self.pending else (self.posted_amount or 0)
        return posted - self.reversed_amount if self.status == "posted" else 0


@dataclass(frozen=True)
class TransactionRecord:
    """A multi-leg transaction: one client id over 1 to ``api.ids.MAX_LEGS`` transfers (its
    legs) applied in one commit or not at all, that then live as one: a pending one's
    legs are holds posted, voided or expired together, and a reversal reverses every leg
    as one new transaction. Its status is its legs'."""

    id: str
    leg_count: int
    pending: bool
    metadata: dict[str, Any] | None
    request_hash: str
    created_at: datetime | None  # None until the creating commit
    expires_at: datetime | None = None
    reverses_transaction_id: str | None = None
    reversed_by_transaction_id: str | None = None
    labels: dict[str, str] | None = None

    @property
    def leg_ids(self) -> list[str]:
        return [leg_id(self.id, index) for index in range(self.leg_count)]


def leg_id(transaction_id: str, index: int) -> str:
    """The transfer id of leg ``index`` of a transaction (api.ids.LEG_SEPARATOR)."""
    return f"{transaction_id}{LEG_SEPARATOR}{index}"


def transaction_of(transfer_id: str) -> str | None:
    """The transaction a leg's id belongs to; None for a client-chosen transfer id."""
    transaction_id, separator, _ = transfer_id.rpartition(LEG_SEPARATOR)
    return transaction_id if separator else None


def transaction_status(legs: Sequence[TransferRecord]) -> TransferStatus:
    """A transaction's status is its legs': they change together. Should a sweep ever
    have released some legs and not yet the others, the transaction is expired (its
    time is up either way)."""
    statuses = {leg.status for leg in legs}
    if "expired" in statuses:
        return "expired"
    return legs[0].status
