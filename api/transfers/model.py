"""The transfer as the domain sees it: plain data, no Spanner and no HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from api.ids import LEG_SEPARATOR, key_hash

TransferStatus = Literal["posted", "pending", "voided", "expired"]
Resolution = Literal["post", "void"]


@dataclass(frozen=True)
class TransferOrder:
    """A request to move money (or to hold it), checked and fingerprinted before any
    transaction."""

    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str | None
    metadata: dict[str, Any] | None
    fingerprint: str
    pending: bool = False
    timeout_seconds: int | None = None
    transaction_id: str | None = None  # set on a leg of a multi-leg transaction
    labels: dict[str, str] | None = None


@dataclass(frozen=True)
class ResolveOrder:
    """Settle (``post``, fully or ``amount`` of it) or release (``void``) a hold."""

    transfer_id: str
    action: Resolution
    amount: int | None = None


@dataclass(frozen=True)
class ReverseOrder:
    """A new posted transfer ``id`` that moves ``amount`` of ``transfer_id`` back."""

    id: str
    transfer_id: str
    amount: int | None
    metadata: dict[str, Any] | None
    fingerprint: str


@dataclass(frozen=True)
class ExpireOrder:
    """Release a hold whose time is up (the sweeper's order)."""

    transfer_id: str


Order = TransferOrder | ResolveOrder | ReverseOrder | ExpireOrder

# The sweeper's time index is spread over this many shards (spanner_ddl/0003).
EXPIRY_SHARDS = 16


def expiry_shard(transfer_id: str) -> int:
    return key_hash(transfer_id) % EXPIRY_SHARDS


def created_shard(key_hash: int) -> int:
    """The shard of a transfer in the time indexes (spanner_ddl/0008, 0009): SQL's
    MOD(KeyHash, 8), which keeps the sign (-7..7), unlike Python's %."""
    remainder = abs(key_hash) % 8
    return remainder if key_hash >= 0 else -remainder


# Cloud Spanner refuses a commit of more mutations than this (the emulator does not).
SPANNER_MUTATIONS_PER_COMMIT = 80_000
# Mutations a transfer writes (its row of 20 columns, two entries of 11, two account
# updates of 8, a reversal's update of its original), and each of its labels (an index
# row); checked against what a commit buffers in tests/transfers/test_weights.py.
MUTATIONS_PER_TRANSFER = 66
MUTATIONS_PER_LABEL = 6


def transfer_weight(labels: dict[str, str] | None) -> int:
    """A transfer's share of one commit, in plain transfers: labels make it heavier."""
    extra = MUTATIONS_PER_LABEL * len(labels or {})
    return 1 + (extra + MUTATIONS_PER_TRANSFER - 1) // MUTATIONS_PER_TRANSFER


def leg_id(transaction_id: str, index: int) -> str:
    """The transfer id of leg ``index`` of a transaction (api.ids.LEG_SEPARATOR)."""
    return f"{transaction_id}{LEG_SEPARATOR}{index}"


def transaction_of(transfer_id: str) -> str | None:
    """The transaction a leg's id belongs to; None for a client-chosen transfer id."""
    transaction_id, separator, _ = transfer_id.rpartition(LEG_SEPARATOR)
    return transaction_id if separator else None


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
    created_at: datetime | None  # None until the creating transaction commits
    pending: bool = False  # created as a hold
    expires_at: datetime | None = None
    posted_amount: int | None = None
    resolved_at: datetime | None = None  # None until the resolving transaction commits
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
