"""Multi-leg transactions: each request one order through the worker's ledger writer
(api.ledger.writer: group commit, or not) into the engine's one commit."""

from __future__ import annotations

from api.config import Settings
from api.context import RequestContext
from api.ledger.errors import TransactionNotFound
from api.ledger.orders import Order, ResolveTransactionOrder
from api.ledger.records import Resolution, TransactionRecord, TransferRecord
from api.ledger.repository import transactions as transaction_rows
from api.ledger.repository import transfers as transfer_rows
from api.ledger.writer import LedgerWriter
from api.spanner.tx import Tx
from api.storage import DatabaseHandles
from api.transactions.convert import prepare_reverse_transaction, prepare_transaction, to_wire
from api.transactions.schemas import Transaction, TransactionCreate, TransactionReverse


async def create_transaction(
    *,
    writer: LedgerWriter,
    settings: Settings,
    ctx: RequestContext,
    request: TransactionCreate,
) -> tuple[Transaction, bool]:
    """Apply every leg or none. Returns the transaction and whether this call created it."""
    order = prepare_transaction(request, settings=settings)
    return await _write(writer, order, ctx, "transactions.create")


async def resolve_transaction(
    *, writer: LedgerWriter, ctx: RequestContext, transaction_id: str, action: Resolution
) -> Transaction:
    """Post or void every leg of a pending transaction; the same request again answers
    the same."""
    order = ResolveTransactionOrder(transaction_id, action)
    transaction, _ = await _write(writer, order, ctx, f"transactions.{action}")
    return transaction


async def reverse_transaction(
    *,
    writer: LedgerWriter,
    settings: Settings,
    ctx: RequestContext,
    transaction_id: str,
    request: TransactionReverse,
) -> tuple[Transaction, bool]:
    """Move every leg back, as one new transaction linked to this one (and back)."""
    order = prepare_reverse_transaction(transaction_id, request, settings=settings)
    return await _write(writer, order, ctx, "transactions.reverse")


async def _write(
    writer: LedgerWriter, order: Order, ctx: RequestContext, action: str
) -> tuple[Transaction, bool]:
    outcome = await writer.write(order, ctx, action=action)
    if outcome.error is not None:
        raise outcome.error
    if outcome.transaction is None:
        raise ValueError("an order on a transaction answers with the transaction")
    return to_wire(outcome.transaction, outcome.legs), outcome.created


def get_transaction(
    *, databases: DatabaseHandles, ctx: RequestContext, transaction_id: str
) -> Transaction:
    def read(tx: Tx) -> tuple[TransactionRecord | None, list[TransferRecord]]:
        found = transaction_rows.read_transactions(tx, [transaction_id])
        transaction = found.get(transaction_id)
        if transaction is None:
            return None, []
        legs = transfer_rows.read_transfers(tx, transaction.leg_ids)
        return transaction, [legs[leg] for leg in transaction.leg_ids]

    (transaction, legs), _ = databases.reader.read_consistent(
        read, budget=ctx.budget("transactions.get")
    )
    if transaction is None:
        raise TransactionNotFound(f"Transaction {transaction_id!r} does not exist.")
    return to_wire(transaction, legs)
