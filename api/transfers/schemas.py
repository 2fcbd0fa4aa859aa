"""Wire shapes of the transfers area."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.ids import Amount, Currency, Metadata, ResourceId

TransferStatus = Literal["posted"]


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ResourceId = Field(description="Client-chosen; the idempotency key of the transfer.")
    debit_account_id: ResourceId
    credit_account_id: ResourceId
    amount: Amount
    currency: Currency | None = Field(
        default=None, description="If given, must equal both accounts' currency."
    )
    metadata: Metadata | None = None


class Transfer(BaseModel):
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    status: TransferStatus
    metadata: Metadata | None
    created_at: datetime = Field(description="Commit timestamp of the transfer.")
