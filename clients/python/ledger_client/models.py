"""The wire shapes of the ledger API, as the client sends and reads them.

Names, fields, types and required-ness follow the service's OpenAPI document one to one
(tests/client/test_models_match_openapi.py keeps them so). Value constraints (id
patterns, amount ranges) are left to the service: it is the one that decides, and its
422 names the field. Response models ignore fields they do not know, so an older client
keeps working against a newer service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TransferStatus = Literal["posted", "pending", "voided", "expired"]
EntryKind = Literal["transfer", "hold", "hold_posted", "hold_voided", "hold_expired", "reversal"]
Metadata = dict[str, Any]
Labels = dict[str, str]


class Request(BaseModel):
    """A request body: unknown fields are a bug in the caller, caught before sending."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- accounts -------------------------------------------------------------------------


class AccountFlags(Request):
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False


class BalanceBounds(Request):
    lower: int | None = None
    upper: int | None = None


class AccountCreate(Request):
    id: str | None = None
    currency: str
    flags: AccountFlags = Field(default_factory=AccountFlags)
    bounds: BalanceBounds = Field(default_factory=BalanceBounds)
    metadata: Metadata | None = None
    labels: Labels | None = None


class Account(Response):
    id: str
    currency: str
    flags: AccountFlags
    metadata: Metadata | None
    labels: Labels
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balance: int
    available_balance: int
    bounds: BalanceBounds
    status: Literal["open", "closed"]
    version: int
    created_at: datetime
    updated_at: datetime


class AccountPage(Response):
    items: list[Account]
    next_page_token: str | None
    read_timestamp: datetime | None = None


class Entry(Response):
    account_id: str
    sequence: int
    transfer_id: str
    amount: int
    balance_after: int
    kind: EntryKind
    pending_amount: int
    posted_at: datetime


class EntryPage(Response):
    items: list[Entry]
    next_page_token: str | None
    read_timestamp: datetime | None = None


class AccountBalanceAt(Response):
    account_id: str
    currency: str
    as_of: datetime
    existed: bool
    balance: int
    sequence: int


class Statement(Response):
    account_id: str
    currency: str
    from_: datetime = Field(alias="from")
    to: datetime
    opening_balance: int
    closing_balance: int
    debits: int
    credits: int
    entry_count: int
    read_timestamp: datetime


# --- balances ---------------------------------------------------------------------------


class Balance(Response):
    account_id: str
    currency: str
    balance: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int


class BalanceSnapshot(Response):
    read_timestamp: datetime
    balances: list[Balance]


class BalanceSnapshotAt(Response):
    as_of: datetime
    read_timestamp: datetime
    balances: list[AccountBalanceAt]


# --- transfers --------------------------------------------------------------------------


class TransferCreate(Request):
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str | None = None
    metadata: Metadata | None = None
    labels: Labels | None = None
    pending: bool = False
    timeout_seconds: int | None = None


class TransferPost(Request):
    amount: int | None = None


class TransferVoid(Request):
    pass


class TransferReverse(Request):
    id: str
    amount: int | None = None
    metadata: Metadata | None = None


class Transfer(Response):
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    status: TransferStatus
    metadata: Metadata | None
    labels: Labels
    created_at: datetime
    pending: bool
    expires_at: datetime | None
    posted_amount: int | None
    resolved_at: datetime | None
    reverses_transfer_id: str | None
    reversed_amount: int
    transaction_id: str | None


class TransferPage(Response):
    items: list[Transfer]
    next_page_token: str | None
    read_timestamp: datetime | None = None


class ExpirySweep(Response):
    released: int


# --- transactions -----------------------------------------------------------------------


class LegCreate(Request):
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str | None = None
    metadata: Metadata | None = None
    labels: Labels | None = None


class TransactionCreate(Request):
    id: str
    legs: list[LegCreate]
    metadata: Metadata | None = None
    labels: Labels | None = None
    pending: bool = False
    timeout_seconds: int | None = None


class TransactionPost(Request):
    pass


class TransactionVoid(Request):
    pass


class TransactionReverse(Request):
    id: str
    metadata: Metadata | None = None


class Transaction(Response):
    id: str
    status: TransferStatus
    pending: bool
    metadata: Metadata | None
    labels: Labels
    created_at: datetime
    expires_at: datetime | None
    resolved_at: datetime | None
    reverses_transaction_id: str | None
    reversed_by_transaction_id: str | None
    legs: list[Transfer]


# --- batches ----------------------------------------------------------------------------


class BatchPost(Request):
    op: Literal["post"] = "post"
    transfer_id: str
    amount: int | None = None


class BatchVoid(Request):
    op: Literal["void"] = "void"
    transfer_id: str


class BatchReverse(Request):
    op: Literal["reverse"] = "reverse"
    transfer_id: str
    id: str
    amount: int | None = None
    metadata: Metadata | None = None


class BatchTransaction(TransactionCreate):
    op: Literal["transaction"] = "transaction"


BatchItem = TransferCreate | BatchPost | BatchVoid | BatchReverse | BatchTransaction


class TransferBatchCreate(Request):
    transfers: list[BatchItem]
    atomic: bool = False


class Problem(Response):
    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class BatchItemResult(Response):
    index: int
    status: int
    transfer: Transfer | None = None
    transaction: Transaction | None = None
    problem: Problem | None = None


class TransferBatchResult(Response):
    atomic: bool
    created: int
    replayed: int
    failed: int
    results: list[BatchItemResult]


# --- events (GET /v1/events) ------------------------------------------------------------


# The event types the service declares today. The field below is an open enum: its
# schema lists these (and matches the service's OpenAPI), but any string parses, so a
# type the service adds later reaches an older client instead of failing its parse.
EVENT_TYPES = (
    "account.opened", "account.closed", "account.reopened",
    "transfer.created", "transfer.posted", "transfer.voided", "transfer.expired",
    "transfer.reversed",
    "transaction.created", "transaction.posted", "transaction.voided", "transaction.expired",
    "transaction.reversed",
)  # fmt: skip


class Event(Response):
    id: str
    type: str = Field(json_schema_extra={"enum": list(EVENT_TYPES)})
    occurred_at: datetime
    account_ids: list[str]
    data: dict[str, Any]


class EventPage(Response):
    items: list[Event]
    next_cursor: str
    # Null until the relay has a watermark (nothing relayed yet).
    complete_until: datetime | None
    # Where the feed begins; a cursor from before it is 410 cursor_expired.
    starts_at: datetime | None
