"""Wire shapes of the transfers area."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.errors import Problem
from api.ids import Amount, Currency, Metadata, ResourceId
from api.transfers.model import TransferStatus

# The schema's hard cap, whatever the setting: a list is refused by its length before
# any item is validated, so a huge body cannot produce a huge list of errors.
BATCH_HARD_LIMIT = 10_000


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


class TransferBatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transfers: list[TransferCreate] = Field(
        min_length=1,
        max_length=BATCH_HARD_LIMIT,
        description="Applied in this order: a later transfer sees the balances left by "
        "earlier ones. The limit is LEDGER_BATCH_MAX_TRANSFERS (default 1,000).",
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
