"""Wire shapes of the batch endpoint: transfers, actions on them, and transactions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictBool, Tag

from api.errors import Problem
from api.ids import TransferRef
from api.transactions.schemas import Transaction, TransactionCreate
from api.transfers.schemas import (
    TransferCreate,
    TransferPost,
    TransferReverse,
    TransferVoid,
)
from api.wire.transfer import Transfer

# The schema's hard cap, whatever the setting: a list is refused by its length before
# any item is validated, so a huge body cannot produce a huge list of errors.
BATCH_HARD_LIMIT = 10_000


class BatchPost(TransferPost):
    op: Literal["post"]
    transfer_id: TransferRef


class BatchVoid(TransferVoid):
    op: Literal["void"]
    transfer_id: TransferRef


class BatchReverse(TransferReverse):
    op: Literal["reverse"]
    transfer_id: TransferRef = Field(description="The transfer to reverse.")


def _batch_op(item: Any) -> str:
    """An item without ``op`` is a transfer (or hold); with it, an action on one."""
    if isinstance(item, dict):
        op = item.get("op", "create")
        return op if isinstance(op, str) else "invalid"
    return str(getattr(item, "op", "create"))


class BatchTransaction(TransactionCreate):
    op: Literal["transaction"]


BatchItem = Annotated[
    Annotated[TransferCreate, Tag("create")]
    | Annotated[BatchPost, Tag("post")]
    | Annotated[BatchVoid, Tag("void")]
    | Annotated[BatchReverse, Tag("reverse")]
    | Annotated[BatchTransaction, Tag("transaction")],
    Discriminator(_batch_op),
]


class TransferBatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transfers: list[BatchItem] = Field(
        min_length=1,
        max_length=BATCH_HARD_LIMIT,
        description="Applied in this order: a later item sees the balances and holds left "
        "by earlier ones. An item is a transfer or hold (as POST /v1/transfers); with "
        '"op": "post" / "void" / "reverse" and "transfer_id", an action on one; with '
        '"op": "transaction", a multi-leg transaction (as POST /v1/transactions). The '
        "limit is LEDGER_BATCH_MAX_TRANSFERS (default 1,000) transfers, a transaction "
        "counting its legs.",
    )
    atomic: StrictBool = Field(
        default=False,
        description="true: all or nothing, in one transaction. false: each transfer gets "
        "its own outcome and valid ones apply even when others fail.",
    )


class BatchItemResult(BaseModel):
    index: int
    status: int = Field(description="201 created, 200 identical replay, else the error's.")
    transfer: Transfer | None = None
    transaction: Transaction | None = None
    problem: Problem | None = None


class TransferBatchResult(BaseModel):
    atomic: bool
    created: int
    replayed: int
    failed: int
    results: list[BatchItemResult] = Field(description="One per transfer, in request order.")
