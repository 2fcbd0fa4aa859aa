"""The rules of multi-leg transactions: all their legs or none.

A failing leg undoes what the legs before it did to the commit's state
(``CommitState.all_or_nothing``) and fails the transaction with that leg's problem and
index. The legs are settled, released, expired and reversed together; a leg cannot be
on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from api.errors import IdempotencyConflict, LedgerError
from api.ledger import transfer_rules
from api.ledger.errors import (
    LegFailed,
    ReversalExceedsAmount,
    TransferNotPending,
    TransferNotPosted,
)
from api.ledger.orders import (
    ExpireOrder,
    ExpireTransactionOrder,
    ResolveOrder,
    ResolveTransactionOrder,
    ReverseOrder,
    ReverseTransactionOrder,
    TransactionOrder,
    TransferOrder,
)
from api.ledger.outcome import Outcome
from api.ledger.records import TransactionRecord, leg_id, transaction_status
from api.ledger.state import CommitState


def create(state: CommitState, order: TransactionOrder) -> Outcome:
    replay = _replay(state, order.id, order.fingerprint)
    if replay is not None:
        return replay

    def create_leg(index: int, transfer_id: str) -> Outcome:
        leg = order.legs[index]
        return transfer_rules.create(
            state,
            TransferOrder(
                id=transfer_id,
                debit_account_id=leg.debit_account_id,
                credit_account_id=leg.credit_account_id,
                amount=leg.amount,
                currency=leg.currency,
                metadata=leg.metadata,
                fingerprint=order.fingerprint,
                pending=order.pending,
                timeout_seconds=order.timeout_seconds,
                transaction_id=order.id,
                labels=leg.labels,
            ),
        )

    ids = [leg_id(order.id, index) for index in range(len(order.legs))]
    with state.all_or_nothing():
        legs = _each_leg(ids, create_leg)
        transaction = TransactionRecord(
            id=order.id,
            leg_count=len(legs),
            pending=order.pending,
            metadata=order.metadata,
            request_hash=order.fingerprint,
            created_at=None,
            expires_at=transfer_rules.expiry(state, order.pending, order.timeout_seconds),
            labels=order.labels,
        )
        state.put_transaction(transaction, new=True)
    return _outcome(state, transaction, legs)


def resolve(state: CommitState, order: ResolveTransactionOrder) -> Outcome:
    transaction = state.transaction(order.transaction_id)
    if not transaction.pending:
        raise TransferNotPending(
            f"Transaction {transaction.id!r} was not created pending (pending=true)."
        )
    with state.all_or_nothing():
        try:
            legs = [
                transfer_rules.resolve(state, ResolveOrder(leg, order.action), as_leg=True)
                for leg in transaction.leg_ids
            ]
        except LedgerError as error:
            # The legs live as one: what refuses one refuses the transaction.
            error.detail = f"Transaction {transaction.id!r}: {error.detail}"
            raise
    return _outcome(state, transaction, legs)


def reverse(state: CommitState, order: ReverseTransactionOrder) -> Outcome:
    replay = _replay(state, order.id, order.fingerprint)
    if replay is not None:
        return replay
    original = state.transaction(order.transaction_id)
    if original.reversed_by_transaction_id is not None:
        raise ReversalExceedsAmount(
            f"Transaction {original.id!r} was reversed by "
            f"{original.reversed_by_transaction_id!r}; nothing is left to reverse."
        )
    status = transaction_status([state.transfer(leg) for leg in original.leg_ids])
    if status != "posted":
        raise TransferNotPosted(
            f"Transaction {original.id!r} is {status}: only posted transactions can be reversed."
        )

    def reverse_leg(index: int, reversal_leg: str) -> Outcome:
        back = ReverseOrder(
            id=reversal_leg,
            transfer_id=leg_id(original.id, index),
            amount=None,
            metadata=None,
            fingerprint=order.fingerprint,
        )
        return transfer_rules.reverse(state, back, transaction_id=order.id)

    # Last leg first: a leg may spend what an earlier one brought (a merchant's fee
    # out of the payment), so undoing in the order of application could break a
    # bound that the end state keeps.
    ids = [leg_id(order.id, index) for index in range(original.leg_count)]
    with state.all_or_nothing():
        legs = _each_leg(ids, reverse_leg, backwards=True)
        reversal = TransactionRecord(
            id=order.id,
            leg_count=original.leg_count,
            pending=False,
            metadata=order.metadata,
            request_hash=order.fingerprint,
            created_at=None,
            reverses_transaction_id=original.id,
            labels=original.labels,
        )
        state.put_transaction(reversal, new=True)
        state.put_transaction(dataclasses.replace(original, reversed_by_transaction_id=reversal.id))
    return _outcome(state, reversal, legs)


def expire(state: CommitState, order: ExpireTransactionOrder) -> Outcome:
    transaction = state.find_transaction(order.transaction_id)
    if transaction is None:
        return Outcome("replayed")
    # Each leg's release re-checks its hold and the time: it cannot fail.
    legs = [transfer_rules.expire(state, ExpireOrder(leg)) for leg in transaction.leg_ids]
    return _outcome(state, transaction, legs)


def _each_leg(
    leg_ids: list[str], apply: Callable[[int, str], Outcome], *, backwards: bool = False
) -> list[Outcome]:
    """``apply`` each leg (in order, or last first); the outcomes in leg order."""
    indexes = range(len(leg_ids) - 1, -1, -1) if backwards else range(len(leg_ids))
    outcomes: dict[int, Outcome] = {}
    for index in indexes:
        try:
            outcomes[index] = apply(index, leg_ids[index])
        except LedgerError as error:
            raise LegFailed(index, leg_ids[index], error) from None
    return [outcomes[index] for index in range(len(leg_ids))]


def _outcome(state: CommitState, transaction: TransactionRecord, legs: list[Outcome]) -> Outcome:
    created = any(leg.created for leg in legs)
    return Outcome(
        "created" if created else "replayed",
        transaction=state.find_transaction(transaction.id) or transaction,
        legs=tuple(leg.transfer for leg in legs if leg.transfer is not None),
    )


def _replay(state: CommitState, transaction_id: str, fingerprint: str) -> Outcome | None:
    existing = state.find_transaction(transaction_id)
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise IdempotencyConflict(
            f"Transaction id {transaction_id!r} was already used for a different request."
        )
    legs = tuple(state.transfer(leg) for leg in existing.leg_ids)
    return Outcome("replayed", transaction=existing, legs=legs)
