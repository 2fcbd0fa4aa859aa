"""The multi-leg transaction as the domain sees it: plain data, no Spanner and no HTTP.

A transaction is one client id over 1 to ``api.ids.MAX_LEGS`` transfers (its legs) that are
applied in one Spanner transaction or not at all, and then live as one: a pending
transaction's legs are holds posted, voided or expired together, and a reversal
reverses every leg as one new transaction. Its status is its legs'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from api.ids import MAX_LABELS, MAX_LEGS
from api.transfers.model import (
    Order,
    Resolution,
    ReverseOrder,
    TransferOrder,
    TransferRecord,
    TransferStatus,
    leg_id,
    transfer_weight,
)

T = TypeVar("T")


@dataclass(frozen=True)
class LegOrder:
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str | None
    metadata: dict[str, Any] | None
    labels: dict[str, str] | None = None  # the transaction's and the leg's own


@dataclass(frozen=True)
class TransactionOrder:
    """A new transaction, checked and fingerprinted before any Spanner transaction."""

    id: str
    legs: tuple[LegOrder, ...]
    metadata: dict[str, Any] | None
    fingerprint: str
    pending: bool = False
    timeout_seconds: int | None = None
    labels: dict[str, str] | None = None


@dataclass(frozen=True)
class ResolveTransactionOrder:
    """Post (settle) or void (release) every leg of a pending transaction."""

    transaction_id: str
    action: Resolution


@dataclass(frozen=True)
class ReverseTransactionOrder:
    """A new transaction ``id`` that moves every leg of ``transaction_id`` back."""

    id: str
    transaction_id: str
    metadata: dict[str, Any] | None
    fingerprint: str


@dataclass(frozen=True)
class ExpireTransactionOrder:
    """Release the legs of a pending transaction whose time is up (the sweeper's)."""

    transaction_id: str


TransactionLevelOrder = (
    TransactionOrder | ResolveTransactionOrder | ReverseTransactionOrder | ExpireTransactionOrder
)
# Every order one Posting applies (api.transfers.posting).
AnyOrder = Order | TransactionLevelOrder


@dataclass(frozen=True)
class TransactionRecord:
    id: str
    leg_count: int
    pending: bool
    metadata: dict[str, Any] | None
    request_hash: str
    created_at: datetime | None  # None until the creating transaction commits
    expires_at: datetime | None = None
    reverses_transaction_id: str | None = None
    reversed_by_transaction_id: str | None = None
    labels: dict[str, str] | None = None

    @property
    def leg_ids(self) -> list[str]:
        return [leg_id(self.id, index) for index in range(self.leg_count)]


def transaction_status(legs: Sequence[TransferRecord]) -> TransferStatus:
    """A transaction's status is its legs': they change together. Should a sweep ever
    have released some legs and not yet the others, the transaction is expired (its
    time is up either way)."""
    statuses = {leg.status for leg in legs}
    if "expired" in statuses:
        return "expired"
    return legs[0].status


# A transfer with the most labels: what an order weighs whose labels are unknown until
# its transaction reads them.
_HEAVIEST_TRANSFER = transfer_weight(dict.fromkeys(map(str, range(MAX_LABELS)), ""))


def order_weight(order: AnyOrder) -> int:
    """How many plain transfers' worth of mutations an order may write: THE weight for
    fitting orders into one commit (group commit, batches, the sweeper). What is unknown
    before the transaction reads it weighs the most it may be: an order on a stored
    transaction (its legs), a reversal (it carries its original's labels)."""
    if isinstance(order, TransactionOrder):
        return sum(transfer_weight(leg.labels) for leg in order.legs)
    if isinstance(order, TransactionLevelOrder):
        return MAX_LEGS * _HEAVIEST_TRANSFER
    if isinstance(order, TransferOrder):
        return transfer_weight(order.labels)
    if isinstance(order, ReverseOrder):
        return _HEAVIEST_TRANSFER
    return 1


def chunked_by_weight(items: Sequence[T], weights: Sequence[int], limit: int) -> list[list[T]]:
    """``items`` in order, in runs whose weights add up to at most ``limit`` (an item
    heavier than that on its own)."""
    chunks: list[list[T]] = []
    current: list[T] = []
    total = 0
    for item, weight in zip(items, weights, strict=True):
        if current and total + weight > limit:
            chunks.append(current)
            current, total = [], 0
        current.append(item)
        total += weight
    if current:
        chunks.append(current)
    return chunks
