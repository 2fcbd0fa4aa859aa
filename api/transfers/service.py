"""Transfers: the use case, from a request to its committed outcome.

Every write path - a transfer or a hold, a hold's :post or :void, a :reverse, a
multi-leg transaction and the calls on it (each through group commit or not), the
batch endpoint, the expiry sweeper - ends in ``commit_orders``: ONE read-write
transaction that reads every transfer id and account it needs in two reads (three when
transactions are named: their rows first; and Spanner's time, only when a hold with a
timeout is involved), applies the orders in order to that state in memory
(api.transfers.posting), buffers the rows and commits. It may run more than once
(aborts): it only reads, checks and buffers. Everything that can be refused without
the database is refused before, in ``prepare``, so a transaction fails only for what
it alone can know.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from api.accounts import repository as accounts_repository
from api.backend_errors import map_backend_error
from api.config import Settings
from api.context import RequestContext
from api.errors import LedgerError, ValidationFailed
from api.spanner.call import Call
from api.spanner.clock import SpannerClock
from api.spanner.database import SpannerDatabase
from api.spanner.errors import is_transient
from api.spanner.tx import Tx
from api.storage import DatabaseHandles
from api.transactions import convert as transactions_convert
from api.transactions import repository as transactions_repository
from api.transactions.model import (
    AnyOrder,
    ExpireTransactionOrder,
    ResolveTransactionOrder,
    TransactionLevelOrder,
    TransactionOrder,
    TransactionRecord,
    chunked_by_weight,
    order_weight,
)
from api.transactions.schemas import TransactionCreate
from api.transfers import repository
from api.transfers.batch_schemas import (
    BatchItem,
    BatchItemResult,
    BatchPost,
    BatchReverse,
    BatchTransaction,
    BatchVoid,
    TransferBatchCreate,
    TransferBatchResult,
)
from api.transfers.convert import prepare, prepare_reverse, to_wire
from api.transfers.errors import BatchItemFailed, TransferNotFound
from api.transfers.model import (
    SPANNER_MUTATIONS_PER_COMMIT,
    ExpireOrder,
    ResolveOrder,
    TransferOrder,
    TransferRecord,
)
from api.transfers.posting import (
    MIN_COMMIT_SECONDS,
    Clock,
    ClockRequired,
    Outcome,
    Posting,
    needs_clock,
    referenced_transaction_ids,
    referenced_transfer_ids,
)
from api.transfers.schemas import (
    Transfer,
    TransferCreate,
    TransferPost,
    TransferReverse,
)

if TYPE_CHECKING:
    from api.transfers.writer import TransferWriter


def prepare_item(item: BatchItem, *, settings: Settings) -> AnyOrder:
    """A batch item (a transfer, a lifecycle call on one, a transaction) as its order."""
    if isinstance(item, BatchTransaction):
        # Without "op": the same transaction fingerprints alike in a batch and on its own.
        request = TransactionCreate.model_validate(item.model_dump(exclude={"op"}))
        return transactions_convert.prepare_transaction(request, settings=settings)
    if isinstance(item, BatchPost):
        return ResolveOrder(item.transfer_id, "post", item.amount)
    if isinstance(item, BatchVoid):
        return ResolveOrder(item.transfer_id, "void")
    if isinstance(item, BatchReverse):
        reverse = TransferReverse(id=item.id, amount=item.amount, metadata=item.metadata)
        return prepare_reverse(item.transfer_id, reverse, settings=settings)
    return prepare(item, settings=settings)


def commit_orders(
    database: SpannerDatabase,
    orders: Sequence[AnyOrder],
    call: Call,
    *,
    all_or_nothing: bool = False,
) -> list[Outcome]:
    """Apply ``orders`` in order in ONE transaction; one outcome per order.

    With ``all_or_nothing``, the first failing order raises ``BatchItemFailed`` and
    the transaction is rolled back.
    """

    transaction_ids = referenced_transaction_ids(orders)

    def work(tx: Tx) -> list[Outcome]:
        transactions = (
            transactions_repository.read_transactions(tx, transaction_ids)
            if transaction_ids
            else {}
        )
        transfers = repository.read_transfers(tx, referenced_transfer_ids(orders, transactions))
        accounts = accounts_repository.read_states(
            tx, _account_ids(orders, transfers, transactions)
        )
        clock = _clock(database, tx, call) if needs_clock(orders, transfers, transactions) else None
        posting = Posting(accounts, transfers, transactions, clock=clock)
        outcomes = posting.apply_all(orders)
        if posting.commit_before is not None:
            # Past this instant the commit could take a timestamp at or after the hold's
            # expiry: the commit fails (503, outcome unknown) rather than land there.
            cut = database.clock.last_instant_before(posting.commit_before)
            tx.cut_deadline(cut if cut is not None else time.monotonic())
        if all_or_nothing:
            for index, outcome in enumerate(outcomes):
                if outcome.error is not None:
                    raise BatchItemFailed(index, _order_id(orders[index]), outcome.error)
        buffer_writes(tx, posting)
        return outcomes

    committed = database.write(work, call=call)
    return [_stamped(o, committed.commit_timestamp) for o in committed.value]


def buffer_writes(tx: Tx, posting: Posting) -> None:
    """Buffer every row ``posting`` changed: what its transaction commits."""
    accounts_repository.buffer_postings(tx, posting.changed_accounts)
    repository.insert_transfers(tx, posting.new_transfers)
    repository.update_transfers(tx, posting.updated_transfers)
    transactions_repository.insert_transactions(tx, posting.new_transactions)
    transactions_repository.update_transactions(tx, posting.updated_transactions)


def _clock(database: SpannerDatabase, tx: Tx, call: Call) -> Clock:
    """Spanner's time for expiry decisions: bounded from the commits this handle has
    seen, or (before the first, and once the last is old) read with a query."""
    clock = _bounded(database.clock, call)
    if clock is None:
        began = time.monotonic()
        now = repository.read_now(tx)
        database.clock.observe_reading(now, began=began, returned=time.monotonic())
        clock = _bounded(database.clock, call)
    if clock is None:
        raise ClockRequired("Spanner's time was read but does not bound this transaction")
    return clock


def _bounded(clock: SpannerClock, call: Call) -> Clock | None:
    start = time.monotonic()
    now = clock.at(start)
    latest = clock.at(call.deadline)
    prompt = clock.at(min(call.deadline, start + MIN_COMMIT_SECONDS))
    if now is None or latest is None or prompt is None:
        return None
    return Clock(now=now.earliest, latest_commit=latest.latest, latest_prompt_commit=prompt.latest)


def _account_ids(
    orders: Sequence[AnyOrder],
    transfers: dict[str, TransferRecord],
    transactions: dict[str, TransactionRecord],
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
            continue
        elif (target := transfers.get(order.transfer_id)) is not None:
            ids.update((target.debit_account_id, target.credit_account_id))
    # Those of the stored transactions named: legs of replays, of calls on them.
    for transaction in transactions.values():
        for leg_id in transaction.leg_ids:
            if (leg := transfers.get(leg_id)) is not None:
                ids.update((leg.debit_account_id, leg.credit_account_id))
    return ids


def _order_id(order: AnyOrder) -> str:
    if isinstance(order, ResolveOrder | ExpireOrder):
        return order.transfer_id
    if isinstance(order, ResolveTransactionOrder | ExpireTransactionOrder):
        return order.transaction_id
    return order.id


def _stamped(outcome: Outcome, commit_timestamp: datetime) -> Outcome:
    """What this transaction created or resolved (and any replay of it within the same
    transaction) happened at the transaction's commit timestamp."""
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


async def create_transfer(
    *, writer: TransferWriter, settings: Settings, ctx: RequestContext, request: TransferCreate
) -> tuple[Transfer, bool]:
    """Apply one transfer. Returns it and whether this call created it (False: replay)."""
    return await _write(writer, prepare(request, settings=settings), ctx, "transfers.create")


async def resolve_hold(
    *,
    writer: TransferWriter,
    ctx: RequestContext,
    transfer_id: str,
    action: Literal["post", "void"],
    request: TransferPost | None = None,
) -> Transfer:
    """Post (settle) or void (release) a hold; the same call again answers the same."""
    amount = request.amount if request is not None else None
    transfer, _ = await _write(
        writer, ResolveOrder(transfer_id, action, amount), ctx, f"transfers.{action}"
    )
    return transfer


async def reverse_transfer(
    *,
    writer: TransferWriter,
    settings: Settings,
    ctx: RequestContext,
    transfer_id: str,
    request: TransferReverse,
) -> tuple[Transfer, bool]:
    """Move (part of) a posted transfer back, as a new transfer linked to it."""
    order = prepare_reverse(transfer_id, request, settings=settings)
    return await _write(writer, order, ctx, "transfers.reverse")


async def _write(
    writer: TransferWriter, order: AnyOrder, ctx: RequestContext, action: str
) -> tuple[Transfer, bool]:
    outcome = await writer.write(order, ctx, action=action)
    if outcome.error is not None:
        raise outcome.error
    return to_wire(_committed(outcome)), outcome.created


def create_batch(
    *,
    databases: DatabaseHandles,
    settings: Settings,
    ctx: RequestContext,
    request: TransferBatchCreate,
) -> TransferBatchResult:
    transfers = request.transfers
    if (count := sum(map(_transfer_count, transfers))) > settings.batch_max_transfers:
        raise ValidationFailed(
            f"A batch holds at most {settings.batch_max_transfers} transfers (a transaction "
            f"counting its legs); this one has {count}."
        )
    if request.atomic:
        outcomes = _commit_atomic(databases.writer, settings, ctx, transfers)
    else:
        outcomes = _commit_each(databases.writer, settings, ctx, transfers)
    return _summary(request.atomic, request.transfers, outcomes)


def _commit_atomic(
    database: SpannerDatabase,
    settings: Settings,
    ctx: RequestContext,
    transfers: list[BatchItem],
) -> list[Outcome]:
    orders = []
    for index, item in enumerate(transfers):
        try:
            orders.append(prepare_item(item, settings=settings))
        except LedgerError as error:
            raise BatchItemFailed(index, _item_id(item), error) from None
    limit = settings.max_transfers_per_commit
    if (weight := sum(map(order_weight, orders))) > limit:
        raise ValidationFailed(
            f"An atomic batch must fit one commit, and Cloud Spanner takes at most "
            f"{SPANNER_MUTATIONS_PER_COMMIT:,} mutations in one: here at most {limit} plain "
            f"transfers' worth (LEDGER_MAX_TRANSFERS_PER_COMMIT; labels add weight, a "
            f"transaction weighs its legs, a reversal carries its original's labels). This "
            f"one weighs {weight}. Split it, or send it with atomic=false."
        )
    return commit_orders(database, orders, ctx.call("transfers.batch"), all_or_nothing=True)


def _commit_each(
    database: SpannerDatabase,
    settings: Settings,
    ctx: RequestContext,
    transfers: list[BatchItem],
) -> list[Outcome]:
    """Valid items apply in request order, in chunks that each fit one short commit.

    A chunk sees what earlier chunks committed, so the order is kept across chunks.
    Every item is checked before the first chunk commits. If a chunk fails
    transiently the request fails (503: outcome unknown); earlier chunks stay
    committed and replay as 200 when the client sends the batch again. If a chunk
    fails for any other reason, its items carry that problem and the batch goes on.
    """
    outcomes: list[Outcome | None] = [None] * len(transfers)
    valid: list[tuple[int, AnyOrder]] = []
    for index, item in enumerate(transfers):
        try:
            valid.append((index, prepare_item(item, settings=settings)))
        except LedgerError as error:
            outcomes[index] = Outcome("failed", error=error)
    size = min(settings.batch_chunk_size, settings.max_transfers_per_commit)
    call = ctx.call("transfers.batch")
    weights = [order_weight(order) for _, order in valid]
    for chunk in chunked_by_weight(valid, weights, size):
        try:
            chunk_outcomes = commit_orders(database, [order for _, order in chunk], call)
        except Exception as exc:
            if is_transient(exc):
                raise
            problem = map_backend_error(exc, retry_after_seconds=settings.retry_after_seconds)
            chunk_outcomes = [Outcome("failed", error=problem)] * len(chunk)
        for (index, _), outcome in zip(chunk, chunk_outcomes, strict=True):
            outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


def _item_id(item: BatchItem) -> str:
    return item.transfer_id if isinstance(item, BatchPost | BatchVoid) else item.id


def _transfer_count(item: BatchItem) -> int:
    """The transfers an item names, against the batch's size limit: a transaction counts
    its legs. (What a commit holds is weighed by ``order_weight``.)"""
    return len(item.legs) if isinstance(item, BatchTransaction) else 1


def _summary(
    atomic: bool, requests: list[BatchItem], outcomes: list[Outcome]
) -> TransferBatchResult:
    items = []
    for index, (request, outcome) in enumerate(zip(requests, outcomes, strict=True)):
        if outcome.error is not None:
            problem = outcome.error.to_problem()
            items.append(BatchItemResult(index=index, status=problem.status, problem=problem))
        else:
            # A resolution answers 200, like the :post / :void it stands for.
            resolution = isinstance(request, BatchPost | BatchVoid)
            status = 201 if outcome.created and not resolution else 200
            if outcome.transaction is not None:
                transaction = transactions_convert.to_wire(outcome.transaction, outcome.legs)
                items.append(BatchItemResult(index=index, status=status, transaction=transaction))
            else:
                transfer = to_wire(_committed(outcome))
                items.append(BatchItemResult(index=index, status=status, transfer=transfer))
    failed = sum(1 for o in outcomes if o.error is not None)
    created = sum(1 for o in outcomes if o.created)
    return TransferBatchResult(
        atomic=atomic,
        created=created,
        replayed=len(outcomes) - failed - created,
        failed=failed,
        results=items,
    )


def get_transfer(*, databases: DatabaseHandles, ctx: RequestContext, transfer_id: str) -> Transfer:
    transfer = databases.reader.read(
        lambda tx: repository.read_transfer(tx, transfer_id), call=ctx.call("transfers.get")
    )
    if transfer is None:
        raise TransferNotFound(f"Transfer {transfer_id!r} does not exist.")
    return to_wire(transfer)


def _committed(outcome: Outcome) -> TransferRecord:
    if outcome.transfer is None:
        raise ValueError("a successful outcome carries its transfer")
    return outcome.transfer
