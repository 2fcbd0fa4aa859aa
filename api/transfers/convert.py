"""Between the wire and the domain: requests as orders, records as responses."""

from __future__ import annotations

from api.config import Settings
from api.ids import request_fingerprint
from api.limits import check_metadata
from api.transfers.model import ReverseOrder, TransferOrder, TransferRecord
from api.transfers.schemas import Transfer, TransferCreate, TransferReverse


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
        labels=record.labels or {},
        created_at=record.created_at,
        pending=record.pending,
        expires_at=record.expires_at,
        posted_amount=record.posted_amount,
        resolved_at=record.resolved_at,
        reverses_transfer_id=record.reverses_transfer_id,
        reversed_amount=record.reversed_amount,
        transaction_id=record.transaction_id,
    )
