"""What the engine is asked to do: orders, checked and fingerprinted before any commit,
and how much of one commit each may take.

An order is a plain value; ``api.ledger.apply`` dispatches on its type. The weight of an
order (``order_weight``) is THE measure of what fits one commit: group commit, the batch
endpoint and the sweeper all fill commits by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from api.ids import MAX_LABELS, MAX_LEGS
from api.ledger.records import Resolution

T = TypeVar("T")


@dataclass(frozen=True)
class TransferOrder:
    """Move money (or hold it)."""

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
    """A new multi-leg transaction."""

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


TransferLevelOrder = TransferOrder | ResolveOrder | ReverseOrder | ExpireOrder
TransactionLevelOrder = (
    TransactionOrder | ResolveTransactionOrder | ReverseTransactionOrder | ExpireTransactionOrder
)
Order = TransferLevelOrder | TransactionLevelOrder


def order_id(order: Order) -> str:
    """The id an order is known by to its caller (a batch names failing items by it)."""
    if isinstance(order, ResolveOrder | ExpireOrder):
        return order.transfer_id
    if isinstance(order, ResolveTransactionOrder | ExpireTransactionOrder):
        return order.transaction_id
    return order.id


# Cloud Spanner refuses a commit of more mutations than this (the emulator does not).
SPANNER_MUTATIONS_PER_COMMIT = 80_000
# Mutations a transfer writes (its row of 20 columns, two entries of 11, two account
# updates of 8, a reversal's update of its original), and each of its labels (an index
# row); checked against what a commit buffers in tests/ledger/test_weights.py.
MUTATIONS_PER_TRANSFER = 66
MUTATIONS_PER_LABEL = 6


def transfer_weight(labels: dict[str, str] | None) -> int:
    """A transfer's share of one commit, in plain transfers: labels make it heavier."""
    extra = MUTATIONS_PER_LABEL * len(labels or {})
    return 1 + (extra + MUTATIONS_PER_TRANSFER - 1) // MUTATIONS_PER_TRANSFER


# A transfer with the most labels: what an order weighs whose labels are unknown until
# its commit reads them.
_HEAVIEST_TRANSFER = transfer_weight(dict.fromkeys(map(str, range(MAX_LABELS)), ""))


def order_weight(order: Order) -> int:
    """How many plain transfers' worth of mutations an order may write. What is unknown
    before the commit reads it weighs the most it may be: an order on a stored
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
