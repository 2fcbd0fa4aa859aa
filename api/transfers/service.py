"""Transfers, holds and reversals: each request one order through the worker's ledger
writer (api.ledger.writer: group commit, or not) into the engine's one commit."""

from __future__ import annotations

from typing import Literal

from api.config import Settings
from api.context import RequestContext
from api.ledger.errors import TransferNotFound
from api.ledger.orders import Order, ResolveOrder
from api.ledger.repository import transfers as transfer_rows
from api.ledger.writer import LedgerWriter
from api.storage import DatabaseHandles
from api.transfers.convert import committed, prepare, prepare_reverse
from api.transfers.schemas import TransferCreate, TransferPost, TransferReverse
from api.wire.transfer import Transfer, to_wire


async def create_transfer(
    *, writer: LedgerWriter, settings: Settings, ctx: RequestContext, request: TransferCreate
) -> tuple[Transfer, bool]:
    """Apply one transfer. Returns it and whether this call created it (False: replay)."""
    return await _write(writer, prepare(request, settings=settings), ctx, "transfers.create")


async def resolve_hold(
    *,
    writer: LedgerWriter,
    ctx: RequestContext,
    transfer_id: str,
    action: Literal["post", "void"],
    request: TransferPost | None = None,
) -> Transfer:
    """Post (settle) or void (release) a hold; the same request again answers the same."""
    amount = request.amount if request is not None else None
    transfer, _ = await _write(
        writer, ResolveOrder(transfer_id, action, amount), ctx, f"transfers.{action}"
    )
    return transfer


async def reverse_transfer(
    *,
    writer: LedgerWriter,
    settings: Settings,
    ctx: RequestContext,
    transfer_id: str,
    request: TransferReverse,
) -> tuple[Transfer, bool]:
    """Move (part of) a posted transfer back, as a new transfer linked to it."""
    order = prepare_reverse(transfer_id, request, settings=settings)
    return await _write(writer, order, ctx, "transfers.reverse")


async def _write(
    writer: LedgerWriter, order: Order, ctx: RequestContext, action: str
) -> tuple[Transfer, bool]:
    outcome = await writer.write(order, ctx, action=action)
    if outcome.error is not None:
        raise outcome.error
    return committed(outcome), outcome.created


def get_transfer(*, databases: DatabaseHandles, ctx: RequestContext, transfer_id: str) -> Transfer:
    transfer = databases.reader.read(
        lambda tx: transfer_rows.read_transfer(tx, transfer_id), budget=ctx.budget("transfers.get")
    )
    if transfer is None:
        raise TransferNotFound(f"Transfer {transfer_id!r} does not exist.")
    return to_wire(transfer)
