"""Transfers: the use case, from a request to its committed outcome.

Every write path - a transfer or a hold, a hold's :post or :void, a :reverse (each
through group commit or not), the batch endpoint, the expiry sweeper - ends in
``commit_orders``: ONE read-write transaction that reads every transfer id and account
it needs in two reads (and Spanner's time, only when a hold with a timeout is
involved), applies the orders in order to that state in memory
(api.transfers.posting), buffers the rows and commits. It may run more than once
(aborts): it only reads, checks and buffers. Everything that can be refused without
the database is refused before, in ``prepare``, so a transaction fails only for what
it alone can know.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from api.accounts import repository as accounts_repository
from api.backend_errors import map_backend_error
from api.config import Settings
from api.context import RequestContext
from api.errors import LedgerError, ValidationFailed
from api.ids import request_fingerprint
from api.limits import check_metadata
from api.spanner.call import Call
from api.spanner.clock import UNCERTAINTY
from api.spanner.database import SpannerDatabase
from api.spanner.errors import is_transient
from api.spanner.tx import Tx
from api.storage import DatabaseHandles
from api.transfers import repository
from api.transfers.errors import BatchItemFailed, TransferNotFound
from api.transfers.model import (
    Order,
    ResolveOrder,
    ReverseOrder,
    TransferOrder,
    TransferRecord,
)
from api.transfers.posting import Clock, Outcome, Posting, needs_clock, referenced_transfer_ids
from api.transfers.schemas import (
    BatchItem,
    BatchItemResult,
    BatchPost,
    BatchReverse,
    BatchVoid,
    Transfer,
    TransferBatchCreate,
    TransferBatchResult,
    TransferCreate,
    TransferPost,
    TransferReverse,
)

if TYPE_CHECKING:
    from api.transfers.writer import TransferWriter


def prepare(request: TransferCreate, *, settings: Settings) -> TransferOrder:
    """Check what needs no database and fingerprint the request; raises LedgerError."""
    check_metadata(request.metadata, max_bytes=settings.metadata_max_bytes)
    return TransferOrder(
        id=request.id,
        debit_account_id=request.debit_account_id,
        credit_account_id=request.credit_account_id,
        amount=request.amount,
        currency=request.currency,
        metadata=request.metadata,
        fingerprint=request_fingerprint(request, exclude={"id"}),
        pending=request.pending,
        timeout_seconds=request.timeout_seconds,
    )


def prepare_reverse(
    transfer_id: str, request: TransferReverse, *, settings: Settings
) -> ReverseOrder:
    check_metadata(request.metadata, max_bytes=settings.metadata_max_bytes)
    # The original's id is part of what was asked: the same reversal id used for
    # another transfer is a different request.
    return ReverseOrder(
        id=request.id,
        transfer_id=transfer_id,
        amount=request.amount,
        metadata=request.metadata,
        fingerprint=request_fingerprint(request, exclude={"id"}, extra={"reverses": transfer_id}),
    )


def prepare_item(item: BatchItem, *, settings: Settings) -> Order:
    """A batch item (a transfer, or a lifecycle call on one) as its order."""
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
    orders: Sequence[Order],
    call: Call,
    *,
    all_or_nothing: bool = False,
) -> list[Outcome]:
    """Apply ``orders`` in order in ONE transaction; one outcome per order.

    With ``all_or_nothing``, the first failing order raises ``BatchItemFailed`` and
    the transaction is rolled back.
    """

    def work(tx: Tx) -> list[Outcome]:
        transfers = repository.read_transfers(tx, referenced_transfer_ids(orders))
        accounts = accounts_repository.read_accounts(tx, _account_ids(orders, transfers))
        clock = _clock(database, tx, call) if needs_clock(orders, transfers) else None
        posting = Posting(accounts, transfers, clock=clock)
        outcomes = posting.apply_all(orders)
        if all_or_nothing:
            for index, outcome in enumerate(outcomes):
                if outcome.error is not None:
                    raise BatchItemFailed(index, _order_id(orders[index]), outcome.error)
        accounts_repository.buffer_postings(tx, posting.changed_accounts)
        repository.insert_transfers(tx, posting.new_transfers)
        repository.update_transfers(tx, posting.updated_transfers)
        return outcomes

    committed = database.write(work, call=call)
    return [_stamped(o, committed.commit_timestamp) for o in committed.value]


def _clock(database: SpannerDatabase, tx: Tx, call: Call) -> Clock:
    """Spanner's time for expiry decisions: bounded from the commits this handle has
    seen, or (before the first) read with a query."""
    now_bounds = database.time_bounds(time.monotonic())
    deadline_bounds = database.time_bounds(call.deadline)
    if now_bounds is not None and deadline_bounds is not None:
        return Clock(now=now_bounds.earliest, latest_commit=deadline_bounds.latest)
    now = repository.read_now(tx)
    return Clock(now=now, latest_commit=now + timedelta(seconds=call.remaining()) + UNCERTAINTY)


def _account_ids(orders: Sequence[Order], transfers: dict[str, TransferRecord]) -> set[str]:
    """The accounts the orders touch: named, or those of the transfers they act on."""
    ids: set[str] = set()
    for order in orders:
        if isinstance(order, TransferOrder):
            ids.update((order.debit_account_id, order.credit_account_id))
        elif (target := transfers.get(order.transfer_id)) is not None:
            ids.update((target.debit_account_id, target.credit_account_id))
    return ids


def _order_id(order: Order) -> str:
    return order.id if isinstance(order, TransferOrder | ReverseOrder) else order.transfer_id


def _stamped(outcome: Outcome, commit_timestamp: datetime) -> Outcome:
    """What this transaction created or resolved (and any replay of it within the same
    transaction) happened at the transaction's commit timestamp."""
    transfer = outcome.transfer
    if transfer is None:
        return outcome
    if transfer.created_at is None:
        transfer = dataclasses.replace(transfer, created_at=commit_timestamp)
    if transfer.resolved and transfer.resolved_at is None:
        transfer = dataclasses.replace(transfer, resolved_at=commit_timestamp)
    return dataclasses.replace(outcome, transfer=transfer)


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
    writer: TransferWriter, order: Order, ctx: RequestContext, action: str
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
    if len(transfers) > settings.batch_max_transfers:
        raise ValidationFailed(
            f"A batch holds at most {settings.batch_max_transfers} transfers; "
            f"this one has {len(transfers)}."
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
    if len(transfers) > settings.max_transfers_per_commit:
        raise ValidationFailed(
            f"An atomic batch must fit one commit: at most "
            f"{settings.max_transfers_per_commit} transfers, this one has {len(transfers)}. "
            "Split it, or send it with atomic=false."
        )
    orders = []
    for index, item in enumerate(transfers):
        try:
            orders.append(prepare_item(item, settings=settings))
        except LedgerError as error:
            raise BatchItemFailed(index, _item_id(item), error) from None
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
    valid: list[tuple[int, Order]] = []
    for index, item in enumerate(transfers):
        try:
            valid.append((index, prepare_item(item, settings=settings)))
        except LedgerError as error:
            outcomes[index] = Outcome("failed", error=error)
    size = min(settings.batch_chunk_size, settings.max_transfers_per_commit)
    call = ctx.call("transfers.batch")
    for start in range(0, len(valid), size):
        chunk = valid[start : start + size]
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
            items.append(
                BatchItemResult(index=index, status=status, transfer=to_wire(_committed(outcome)))
            )
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


def to_wire(record: TransferRecord) -> Transfer:
    """The one conversion from the domain record to the wire schema."""
    if record.created_at is None:
        raise ValueError(f"transfer {record.id} is not committed yet")
    return Transfer(
        id=record.id,
        debit_account_id=record.debit_account_id,
        credit_account_id=record.credit_account_id,
        amount=record.amount,
        currency=record.currency,
        status=record.status,
        metadata=record.metadata,
        created_at=record.created_at,
        pending=record.pending,
        expires_at=record.expires_at,
        posted_amount=record.posted_amount,
        resolved_at=record.resolved_at,
        reverses_transfer_id=record.reverses_transfer_id,
        reversed_amount=record.reversed_amount,
    )
