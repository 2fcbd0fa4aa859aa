"""The one read-write transaction every ledger write ends in: ``commit_orders``.

It reads every record its orders name (api.ledger.prefetch: three reads by key at
most, and Spanner's time only when a hold with a timeout is involved), applies the
orders in order to that state in memory (api.ledger.apply), buffers the rows and
commits. It may run more than once (aborts): it only reads, checks and buffers.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from api.ledger import prefetch
from api.ledger.apply import apply_all
from api.ledger.errors import BatchItemFailed
from api.ledger.orders import Order, order_id
from api.ledger.outcome import Outcome
from api.ledger.records import TransferRecord
from api.ledger.repository import accounts as account_rows
from api.ledger.repository import transactions as transaction_rows
from api.ledger.repository import transfers as transfer_rows
from api.ledger.state import Clock, ClockRequired, CommitState
from api.ledger.transfer_rules import MIN_COMMIT_SECONDS
from api.spanner.budget import Budget
from api.spanner.clock import SpannerClock
from api.spanner.database import SpannerDatabase
from api.spanner.tx import Tx

V = TypeVar("V")


def commit_orders(
    database: SpannerDatabase,
    orders: Sequence[Order],
    budget: Budget,
    *,
    all_or_nothing: bool = False,
) -> list[Outcome]:
    """Apply ``orders`` in order in ONE commit; one outcome per order.

    With ``all_or_nothing``, the first failing order raises ``BatchItemFailed`` and
    nothing is written.
    """

    def work(tx: Tx) -> list[Outcome]:
        state = read_state(tx, database, orders, budget)
        outcomes = apply_all(state, orders)
        if state.commit_before is not None:
            # Past this instant the commit could take a timestamp at or after the hold's
            # expiry: the commit fails (503, outcome unknown) rather than land there.
            cut = database.clock.last_instant_before(state.commit_before)
            tx.cut_deadline(cut if cut is not None else time.monotonic())
        if all_or_nothing:
            for index, outcome in enumerate(outcomes):
                if outcome.error is not None:
                    raise BatchItemFailed(index, order_id(orders[index]), outcome.error)
        buffer_writes(tx, state)
        return outcomes

    committed = database.write(work, budget=budget)
    return [_stamped(o, committed.commit_timestamp) for o in committed.value]


def read_state(
    tx: Tx, database: SpannerDatabase, orders: Sequence[Order], budget: Budget
) -> CommitState:
    """Everything ``orders`` may look up, read: each key found, or None."""
    transaction_ids = prefetch.transaction_ids(orders)
    transactions = _found(
        transaction_ids,
        transaction_rows.read_transactions(tx, transaction_ids) if transaction_ids else {},
    )
    transfer_ids = prefetch.transfer_ids(orders, transactions)
    transfers = {
        **dict.fromkeys(prefetch.absent_legs(orders, transactions)),
        **_found(transfer_ids, transfer_rows.read_transfers(tx, transfer_ids)),
    }
    account_ids = prefetch.account_ids(orders, transfers, transactions)
    accounts = _found(account_ids, account_rows.read_states(tx, account_ids))
    clock = (
        _clock(database, tx, budget)
        if prefetch.needs_clock(orders, transfers, transactions)
        else None
    )
    return CommitState(
        accounts=accounts, transfers=transfers, transactions=transactions, clock=clock
    )


def buffer_writes(tx: Tx, state: CommitState) -> None:
    """Buffer every row ``state`` changed: what its commit writes."""
    account_rows.buffer_postings(tx, state.changed_accounts, state.entries)
    transfer_rows.insert_transfers(tx, state.new_transfers)
    transfer_rows.update_transfers(tx, state.updated_transfers)
    transaction_rows.insert_transactions(tx, state.new_transactions)
    transaction_rows.update_transactions(tx, state.updated_transactions)


def _found(keys: Sequence[str] | set[str], rows: Mapping[str, V]) -> dict[str, V | None]:
    """Each key read: its row, or None for one not found."""
    return {key: rows.get(key) for key in keys}


def _clock(database: SpannerDatabase, tx: Tx, budget: Budget) -> Clock:
    """Spanner's time for expiry decisions: bounded from the commits this handle has
    seen, or (before the first, and once the last is old) read with a query."""
    clock = _bounded(database.clock, budget)
    if clock is None:
        began = time.monotonic()
        now = transfer_rows.read_now(tx)
        database.clock.observe_reading(now, began=began, returned=time.monotonic())
        clock = _bounded(database.clock, budget)
    if clock is None:
        raise ClockRequired("Spanner's time was read but does not bound this transaction")
    return clock


def _bounded(clock: SpannerClock, budget: Budget) -> Clock | None:
    start = time.monotonic()
    now = clock.at(start)
    latest = clock.at(budget.deadline)
    prompt = clock.at(min(budget.deadline, start + MIN_COMMIT_SECONDS))
    if now is None or latest is None or prompt is None:
        return None
    return Clock(now=now.earliest, latest_commit=latest.latest, latest_prompt_commit=prompt.latest)


def _stamped(outcome: Outcome, commit_timestamp: datetime) -> Outcome:
    """What this commit created or resolved (and any replay of it within the same
    commit) happened at the commit's timestamp."""
    if outcome.transfer is None and outcome.transaction is None:
        return outcome
    transfer = outcome.transfer and _stamped_transfer(outcome.transfer, commit_timestamp)
    transaction = outcome.transaction
    if transaction is not None and transaction.created_at is None:
        transaction = dataclasses.replace(transaction, created_at=commit_timestamp)
    legs = tuple(_stamped_transfer(leg, commit_timestamp) for leg in outcome.legs)
    return dataclasses.replace(outcome, transfer=transfer, transaction=transaction, legs=legs)


def _stamped_transfer(transfer: TransferRecord, commit_timestamp: datetime) -> TransferRecord:
    if transfer.created_at is None:
        transfer = dataclasses.replace(transfer, created_at=commit_timestamp)
    if transfer.resolved and transfer.resolved_at is None:
        transfer = dataclasses.replace(transfer, resolved_at=commit_timestamp)
    return transfer
