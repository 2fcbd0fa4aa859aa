"""Between the wire and the domain for transactions: requests as orders, records (and
their legs) as responses."""

from __future__ import annotations

from collections.abc import Sequence

from api.config import Settings
from api.errors import LedgerError
from api.ids import request_fingerprint
from api.ledger.errors import LegFailed, SameAccount
from api.ledger.orders import LegOrder, ReverseTransactionOrder, TransactionOrder
from api.ledger.records import TransactionRecord, TransferRecord, leg_id, transaction_status
from api.limits import check_metadata
from api.transactions.schemas import Transaction, TransactionCreate, TransactionReverse
from api.wire import transfer as transfer_wire


def prepare_transaction(request: TransactionCreate, *, settings: Settings) -> TransactionOrder:
    """Check what needs no database and fingerprint the request; raises LedgerError
    (a leg's problem as ``LegFailed`` with its index)."""
    check_metadata(request.metadata, max_bytes=settings.metadata_max_bytes)
    legs = []
    for index, leg in enumerate(request.legs):
        try:
            check_metadata(leg.metadata, max_bytes=settings.metadata_max_bytes)
            if leg.debit_account_id == leg.credit_account_id:
                raise SameAccount("debit_account_id and credit_account_id must differ.")
        except LedgerError as error:
            raise LegFailed(index, leg_id(request.id, index), error) from None
        legs.append(
            LegOrder(
                debit_account_id=leg.debit_account_id,
                credit_account_id=leg.credit_account_id,
                amount=leg.amount,
                currency=leg.currency,
                metadata=leg.metadata,
                labels={**(request.labels or {}), **(leg.labels or {})} or None,
            )
        )
    return TransactionOrder(
        id=request.id,
        legs=tuple(legs),
        metadata=request.metadata,
        fingerprint=request_fingerprint(request, exclude={"id"}),
        pending=request.pending,
        timeout_seconds=request.timeout_seconds,
        labels=request.labels,
    )


def prepare_reverse_transaction(
    transaction_id: str, request: TransactionReverse, *, settings: Settings
) -> ReverseTransactionOrder:
    check_metadata(request.metadata, max_bytes=settings.metadata_max_bytes)
    # What is reversed is part of what was asked: the same id for another is a conflict.
    return ReverseTransactionOrder(
        id=request.id,
        transaction_id=transaction_id,
        metadata=request.metadata,
        fingerprint=request_fingerprint(
            request, exclude={"id"}, extra={"reverses": transaction_id}
        ),
    )


def to_wire(record: TransactionRecord, legs: Sequence[TransferRecord]) -> Transaction:
    if record.created_at is None:
        raise ValueError(f"transaction {record.id} is not committed yet")
    return Transaction(
        id=record.id,
        status=transaction_status(legs),
        pending=record.pending,
        metadata=record.metadata,
        labels=record.labels or {},
        created_at=record.created_at,
        expires_at=record.expires_at,
        resolved_at=legs[0].resolved_at,
        reverses_transaction_id=record.reverses_transaction_id,
        reversed_by_transaction_id=record.reversed_by_transaction_id,
        legs=[transfer_wire.to_wire(leg) for leg in legs],
    )
