"""Wire shapes of the transfers area."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from api.ids import Amount, Currency, HoldTimeout, Labels, Metadata, ResourceId
from api.wire.transfer import Transfer


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
    labels: Labels | None = None
    pending: StrictBool = Field(
        default=False,
        description="true: a hold. The amount is reserved (pending), not moved, until "
        "the hold is posted (:post), voided (:void) or expires.",
    )
    timeout_seconds: HoldTimeout | None = Field(
        default=None,
        description="A hold's time to live; when it is up the hold can no longer be "
        "posted and is released. Absent: the hold waits until posted or voided.",
    )

    @model_validator(mode="after")
    def _timeout_only_for_holds(self) -> TransferCreate:
        if self.timeout_seconds is not None and not self.pending:
            raise ValueError("timeout_seconds is only for holds (pending: true)")
        return self


class TransferPost(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: Amount | None = Field(
        default=None, description="At most the held amount; the rest is released. Absent: all."
    )


class TransferVoid(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransferReverse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ResourceId = Field(description="The reversal's own id (its idempotency key).")
    amount: Amount | None = Field(default=None, description="Absent: all that is left to reverse.")
    metadata: Metadata | None = None


class ExpirySweep(BaseModel):
    released: int = Field(description="Holds released because their time was up.")


class TransferPage(BaseModel):
    items: list[Transfer] = Field(description="Newest first (by created_at).")
    next_page_token: str | None = Field(
        description="Pass as page_token, with the same filters, for the next page; absent on "
        "the last. A page may hold fewer items than page_size and still have a next one."
    )
    read_timestamp: datetime | None = Field(
        default=None, description="The snapshot this page was read from."
    )
