"""What a commit reads before it applies its orders: every key a lookup will ask for.

Three reads at most, each by key: the transactions named (their rows tell their legs'
ids), the transfers named and those legs, then the accounts of both. And Spanner's time,
only when a hold with a timeout is involved. A key left out here is a lookup the state
refuses (api.ledger.state.PrefetchMissed), never a silent "not found".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from api.ledger.orders import (
    ExpireOrder,
    ExpireTransactionOrder,
    Order,
    ResolveOrder,
    ResolveTransactionOrder,
    ReverseOrder,
    ReverseTransactionOrder,
    TransactionLevelOrder,
    TransactionOrder,
    TransferOrder,
)
from api.ledger.records import TransactionRecord, TransferRecord, leg_id


def transaction_ids(orders: Iterable[Order]) -> list[str]:
    """The transactions the orders name (a new one: to see whether it is a replay)."""
    ids: list[str] = []
    for order in orders:
        if isinstance(order, TransactionOrder):
            ids.append(order.id)
        elif isinstance(order, ReverseTransactionOrder):
            ids += [order.id, order.transaction_id]
        elif isinstance(order, ResolveTransactionOrder | ExpireTransactionOrder):
            ids.append(order.transaction_id)
    return ids


def transfer_ids(
    orders: Iterable[Order], transactions: Mapping[str, TransactionRecord | None]
) -> list[str]:
    """The transfers the orders name, and the legs of the stored transactions read."""
    ids: list[str] = []
    for order in orders:
        if isinstance(order, TransferOrder):
            ids.append(order.id)
        elif isinstance(order, ReverseOrder):
            ids += [order.id, order.transfer_id]
        elif isinstance(order, ResolveOrder | ExpireOrder):
            ids.append(order.transfer_id)
    for transaction in transactions.values():
        if transaction is not None:
            ids += transaction.leg_ids
    return ids


def absent_legs(
    orders: Iterable[Order], transactions: Mapping[str, TransactionRecord | None]
) -> list[str]:
    """The legs of the new transactions the orders would create: known absent without a
    read, since a leg's id (``<transaction>~<n>``) is never a client's and a leg is only
    ever written with its transaction, which was read and not found."""
    ids: list[str] = []
    for order in orders:
        if isinstance(order, TransactionOrder) and transactions.get(order.id) is None:
            ids += [leg_id(order.id, index) for index in range(len(order.legs))]
        elif isinstance(order, ReverseTransactionOrder) and transactions.get(order.id) is None:
            original = transactions.get(order.transaction_id)
            count = original.leg_count if original is not None else 0
            ids += [leg_id(order.id, index) for index in range(count)]
    return ids


def account_ids(
    orders: Iterable[Order],
    transfers: Mapping[str, TransferRecord | None],
    transactions: Mapping[str, TransactionRecord | None],
) -> set[str]:
    """The accounts the orders touch: named, or those of the transfers they act on."""
    ids: set[str] = set()
    for order in orders:
        if isinstance(order, TransferOrder):
            ids.update((order.debit_account_id, order.credit_account_id))
        elif isinstance(order, TransactionOrder):
            for new_leg in order.legs:
                ids.update((new_leg.debit_account_id, new_leg.credit_account_id))
        elif isinstance(order, TransactionLevelOrder):
            continue  # their legs are among the stored transactions' below
        elif (target := transfers.get(order.transfer_id)) is not None:
            ids.update((target.debit_account_id, target.credit_account_id))
    for transfer in transfers.values():
        if transfer is not None and transfer.transaction_id in transactions:
            ids.update((transfer.debit_account_id, transfer.credit_account_id))
    return ids


def needs_clock(
    orders: Iterable[Order],
    transfers: Mapping[str, TransferRecord | None],
    transactions: Mapping[str, TransactionRecord | None],
) -> bool:
    """Whether applying ``orders`` needs Spanner's time (a query): only holds with a
    timeout do, so plain transfers and holds never pay for it. A hold with a timeout
    created earlier in the same group already asks for it."""
    for order in orders:
        if isinstance(order, TransferOrder | TransactionOrder):
            if order.pending and order.timeout_seconds is not None:
                return True
        elif isinstance(order, ExpireOrder | ExpireTransactionOrder):
            return True
        elif isinstance(order, ResolveOrder):
            hold = transfers.get(order.transfer_id)
            if hold is not None and hold.expires_at is not None:
                return True
        elif isinstance(order, ResolveTransactionOrder):
            transaction = transactions.get(order.transaction_id)
            if transaction is not None and transaction.expires_at is not None:
                return True
    return False
