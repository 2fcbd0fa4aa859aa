"""Wire shapes of the transfers area."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictInt, Tag, model_validator

from api.errors import Problem
from api.ids import Amount, Currency, Metadata, ResourceId
from api.transfers.model import TransferStatus

# The schema's hard cap, whatever the setting: a list is refused by its length before
# any item is validated, so a huge body cannot produce a huge list of errors.
BATCH_HARD_LIMIT = 10_000
# The longest a hold may wait to be settled.
MAX_HOLD_SECONDS = 30 * 24 * 3600


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
    pending: bool = Field(
        default=False,
        description="true: a hold. The amount is reserved (pending), not moved, until "
        "the hold is posted (:post), voided (:void) or expires.",
    )
    timeout_seconds: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_HOLD_SECONDS,
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


class BatchPost(TransferPost):
    op: Literal["post"]
    transfer_id: ResourceId


class BatchVoid(TransferVoid):
    op: Literal["void"]
    transfer_id: ResourceId


class BatchReverse(TransferReverse):
    op: Literal["reverse"]
    transfer_id: ResourceId = Field(description="The transfer to reverse.")


def _batch_op(item: Any) -> str:
    """An item without ``op`` is a transfer (or hold); with it, a call on one."""
    if isinstance(item, dict):
        op = item.get("op", "create")
        return op if isinstance(op, str) else "invalid"
    return str(getattr(item, "op", "create"))


BatchItem = Annotated[
    Annotated[TransferCreate, Tag("create")]
    | Annotated[BatchPost, Tag("post")]
    | Annotated[BatchVoid, Tag("void")]
    | Annotated[BatchReverse, Tag("reverse")],
    Discriminator(_batch_op),
]


class TransferBatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transfers: list[BatchItem] = Field(
        min_length=1,
        max_length=BATCH_HARD_LIMIT,
        description="Applied in this order: a later item sees the balances and holds left "
        "by earlier ones. An item is a transfer or hold (as POST /v1/transfers), or, with "
        '"op": "post" / "void" / "reverse" and "transfer_id", a call on one. The limit '
        "is LEDGER_BATCH_MAX_TRANSFERS (default 1,000).",
    )
    atomic: bool = Field(
        default=False,
        description="true: all or nothing, in one transaction. false: each transfer gets "
        "its own outcome and valid ones apply even when others fail.",
    )


class BatchItemResult(BaseModel):
    index: int
    status: int = Field(description="201 created, 200 identical replay, else the error's.")
    transfer: Transfer | None = None
    problem: Problem | None = None


class TransferBatchResult(BaseModel):
    atomic: bool
    created: int
    replayed: int
    failed: int
    results: list[BatchItemResult] = Field(description="One per transfer, in request order.")


class ExpirySweep(BaseModel):
    released: int = Field(description="Holds released because their time was up.")
