"""Wire shapes of multi-leg transactions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from api.ids import MAX_LEGS, Amount, Currency, HoldTimeout, Labels, Metadata, ResourceId
from api.ledger.records import TransferStatus
from api.wire.transfer import Transfer


class LegCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    debit_account_id: ResourceId
    credit_account_id: ResourceId
    amount: Amount
    currency: Currency | None = Field(
        default=None, description="If given, must equal both accounts' currency."
    )
    metadata: Metadata | None = None
    labels: Labels | None = Field(
        default=None, description="This leg's labels, added to the transaction's."
    )


class TransactionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ResourceId = Field(description="Client-chosen; the idempotency key of the transaction.")
    legs: list[LegCreate] = Field(
        min_length=1,
        max_length=MAX_LEGS,
        description=f"1 to {MAX_LEGS} transfers, applied in this order in one Spanner "
        "transaction, all or none. A later leg sees the balances earlier legs left. Each "
        "leg's two accounts share a currency; legs may differ (FX through FX accounts). "
        f"At most {MAX_LEGS}: a transaction must stay one short commit that locks few "
        "accounts, and its response stays small.",
    )
    metadata: Metadata | None = None
    labels: Labels | None = Field(
        default=None, description="The transaction's labels; every leg has them too."
    )
    pending: StrictBool = Field(
        default=False,
        description="true: every leg is a hold, posted (:post), voided (:void) or expired "
        "together.",
    )
    timeout_seconds: HoldTimeout | None = Field(
        default=None,
        description="A pending transaction's time to live, as for a hold.",
    )

    @model_validator(mode="after")
    def _timeout_only_when_pending(self) -> TransactionCreate:
        if self.timeout_seconds is not None and not self.pending:
            raise ValueError("timeout_seconds is only for pending transactions (pending: true)")
        return self


class TransactionPost(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransactionVoid(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransactionReverse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ResourceId = Field(description="The reversing transaction's own id (idempotency key).")
    metadata: Metadata | None = None


class Transaction(BaseModel):
    id: str
    status: TransferStatus = Field(
        description="Its legs' status: posted; or when pending: pending, then posted, voided "
        "or expired."
    )
    pending: bool = Field(description="Created pending (its legs are holds).")
    metadata: Metadata | None
    labels: dict[str, str]
    created_at: datetime = Field(description="Commit timestamp of the transaction.")
    expires_at: datetime | None = Field(
        description="When a pending transaction can no longer be posted."
    )
    resolved_at: datetime | None = Field(
        description="When a pending transaction was posted, voided or expired."
    )
    reverses_transaction_id: str | None = Field(description="Set on a reversal.")
    reversed_by_transaction_id: str | None = Field(
        description="The transaction that reversed this one."
    )
    legs: list[Transfer] = Field(description="Its transfers, in leg order.")
