"""Applying orders to a commit's state, in order: the one dispatch of the engine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import assert_never

from api.errors import LedgerError
from api.ledger import transaction_rules, transfer_rules
from api.ledger.orders import (
    ExpireOrder,
    ExpireTransactionOrder,
    Order,
    ResolveOrder,
    ResolveTransactionOrder,
    ReverseOrder,
    ReverseTransactionOrder,
    TransactionOrder,
    TransferOrder,
)
from api.ledger.outcome import Outcome
from api.ledger.state import CommitState


def apply(state: CommitState, order: Order) -> Outcome:  # noqa: PLR0911 - one per kind
    """What ``order`` makes of ``state``: a later order sees what earlier ones left
    (balances, holds, reversed amounts). A refusal is an outcome, not an exception."""
    try:
        match order:
            case TransferOrder():
                return transfer_rules.create(state, order)
            case ResolveOrder():
                return transfer_rules.resolve(state, order)
            case ReverseOrder():
                return transfer_rules.reverse(state, order)
            case ExpireOrder():
                return transfer_rules.expire(state, order)
            case TransactionOrder():
                return transaction_rules.create(state, order)
            case ResolveTransactionOrder():
                return transaction_rules.resolve(state, order)
            case ReverseTransactionOrder():
                return transaction_rules.reverse(state, order)
            case ExpireTransactionOrder():
                return transaction_rules.expire(state, order)
            case _:
                assert_never(order)
    except LedgerError as error:
        return Outcome("failed", error=error)


def apply_all(state: CommitState, orders: Iterable[Order]) -> list[Outcome]:
    return [apply(state, order) for order in orders]
