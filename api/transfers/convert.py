"""Between the wire and the domain: requests as orders, records as responses."""

from __future__ import annotations

from api.config import Settings
from api.ids import request_fingerprint
from api.ledger.orders import ReverseOrder, TransferOrder
from api.ledger.outcome import Outcome
from api.limits import check_metadata
from api.transfers.schemas import TransferCreate, TransferReverse
from api.wire.transfer import Transfer, to_wire


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
        labels=request.labels,
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


def committed(outcome: Outcome) -> Transfer:
    """The transfer a successful outcome carries, as the wire shows it."""
    if outcome.transfer is None:
        raise ValueError("a successful outcome carries its transfer")
    return to_wire(outcome.transfer)
