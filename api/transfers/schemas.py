"""Wire shapes of the transfers area."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from api.ids import Amount, Currency, Labels, Metadata, ResourceId
from api.transfers.model import TransferStatus

# The longest a hold may wait to be settled.
MAX_HOLD_SECONDS = 30 * 24 * 3600
# A hold's (or a pending transaction's) time to live, in seconds.
HoldTimeout = Annotated[StrictInt, Field(ge=1, le=MAX_HOLD_SECONDS)]


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
