"""``POST /v1/transfers:batch``: many orders in one request, all or nothing (one commit),
or each with its own outcome (in chunks that each fit one commit)."""

from __future__ import annotations

from api.backend_errors import map_backend_error
from api.batch.schemas import (
    BatchItem,
    BatchItemResult,
    BatchPost,
    BatchReverse,
    BatchTransaction,
    BatchVoid,
    TransferBatchCreate,
    TransferBatchResult,
)
from api.config import Settings
from api.context import RequestContext
from api.errors import LedgerError, ValidationFailed
from api.ledger.commit import commit_orders
from api.ledger.errors import BatchItemFailed
from api.ledger.orders import (
    SPANNER_MUTATIONS_PER_COMMIT,
    Order,
    ResolveOrder,
    chunked_by_weight,
    order_weight,
)
from api.ledger.outcome import Outcome
from api.spanner.database import SpannerDatabase
from api.spanner.errors import is_transient
from api.storage import DatabaseHandles
from api.transactions import convert as transactions_convert
from api.transactions.schemas import TransactionCreate
from api.transfers import convert as transfers_convert
from api.transfers.schemas import TransferReverse


def prepare_item(item: BatchItem, *, settings: Settings) -> Order:
    """A batch item (a transfer, an action on one, a transaction) as its order."""
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
        return transfers_convert.prepare_reverse(item.transfer_id, reverse, settings=settings)
    return transfers_convert.prepare(item, settings=settings)


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
    return commit_orders(database, orders, ctx.budget("transfers.batch"), all_or_nothing=True)


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
    budget = ctx.budget("transfers.batch")
    weights = [order_weight(order) for _, order in valid]
    for chunk in chunked_by_weight(valid, weights, size):
        try:
            chunk_outcomes = commit_orders(database, [order for _, order in chunk], budget)
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
            continue
        # A resolution answers 200, like the :post / :void it stands for.
        resolution = isinstance(request, BatchPost | BatchVoid)
        status = 201 if outcome.created and not resolution else 200
        if outcome.transaction is not None:
            transaction = transactions_convert.to_wire(outcome.transaction, outcome.legs)
            items.append(BatchItemResult(index=index, status=status, transaction=transaction))
        else:
            transfer = transfers_convert.committed(outcome)
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
