"""A transfer as every route and event shows it: the one wire shape of a transfer,
shared by the transfers, transactions (their legs) and batch resources and the events
(their data), so that none of them imports another for it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.ids import Metadata
from api.ledger.records import TransferRecord, TransferStatus


class Transfer(BaseModel):
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    status: TransferStatus = Field(
        description="posted; or for a hold: pending, then posted, voided or expired."
    )
    metadata: Metadata | None
    labels: dict[str, str] = Field(
        description="Set at creation (a reversal has its original's); query with label.KEY=VALUE."
    )
    created_at: datetime = Field(description="Commit timestamp of the transfer.")
    pending: bool = Field(description="Created as a hold.")
    expires_at: datetime | None = Field(
        description="When a hold can no longer be posted (holds with a timeout)."
    )
    posted_amount: int | None = Field(description="What a posted hold settled.")
    resolved_at: datetime | None = Field(
        description="When a hold was posted, voided or expired (commit timestamp)."
    )
    reverses_transfer_id: str | None = Field(description="Set on a reversal.")
    reversed_amount: int = Field(description="How much of this transfer was reversed.")
    transaction_id: str | None = Field(
        description="Set on a leg of a multi-leg transaction (its id is the transaction's, "
        "'~' and the leg's index)."
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
