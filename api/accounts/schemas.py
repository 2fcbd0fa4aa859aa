"""Wire shapes of the accounts area."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from api.ids import INT64_MAX, Currency, Labels, Metadata, ResourceId
from api.ledger.records import EntryKind


class AccountFlags(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    debits_must_not_exceed_credits: StrictBool = Field(
        default=False, description="Balance may never go below zero (e.g. a wallet)."
    )
    credits_must_not_exceed_debits: StrictBool = Field(
        default=False, description="Balance may never go above zero (e.g. a credit line)."
    )

    @model_validator(mode="after")
    def _exclusive(self) -> AccountFlags:
        if self.debits_must_not_exceed_credits and self.credits_must_not_exceed_debits:
            raise ValueError("at most one of the two balance flags may be set")
        return self


class BalanceBounds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lower: StrictInt | None = Field(
        default=None,
        ge=-INT64_MAX,
        le=INT64_MAX,
        description="The balance may not go below this, holds counted (e.g. -50000: an "
        "overdraft of 500.00). Absent: no lower bound.",
    )
    upper: StrictInt | None = Field(
        default=None,
        ge=-INT64_MAX,
        le=INT64_MAX,
        description="The balance may not go above this, holds counted (a credit limit).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> BalanceBounds:
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError("the lower bound must not exceed the upper bound")
        return self


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ResourceId | None = Field(
        default=None,
        description="Client-chosen id; makes the request idempotent. Generated if absent.",
    )
    currency: Currency
    flags: AccountFlags = Field(default_factory=AccountFlags)
    bounds: BalanceBounds = Field(default_factory=BalanceBounds)
    metadata: Metadata | None = None
    labels: Labels | None = None


class Account(BaseModel):
    id: str
    currency: str
    flags: AccountFlags
    metadata: Metadata | None
    labels: dict[str, str] = Field(description="Set at creation; query with label.KEY=VALUE.")
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balance: int = Field(description="credits_posted - debits_posted, in minor units.")
    available_balance: int = Field(
        description="balance - debits_pending: what is left once open holds are settled."
    )
    bounds: BalanceBounds
    status: Literal["open", "closed"] = Field(
        description="A closed account takes no new transfers; reads still work."
    )
    version: int = Field(description="Number of entries posted to the account.")
    created_at: datetime
    updated_at: datetime


class AccountPage(BaseModel):
    items: list[Account]
    next_page_token: str | None = Field(
        description="Pass as page_token for the next page; absent on the last page."
    )
    read_timestamp: datetime | None = Field(
        default=None, description="The snapshot this page was read from."
    )


class Entry(BaseModel):
    account_id: str
    sequence: int = Field(description="1 for the account's first entry, then +1 each.")
    transfer_id: str
    amount: int = Field(description="Signed: negative for a debit, positive for a credit.")
    balance_after: int
    kind: EntryKind = Field(
        description="transfer (money moved), hold (an amount reserved), hold_posted, "
        "hold_voided, hold_expired (a hold resolved), reversal."
    )
    pending_amount: int = Field(
        description="Signed change of what holds reserve: negative for a held debit."
    )
    posted_at: datetime


class EntryPage(BaseModel):
    items: list[Entry]
    next_page_token: str | None
    read_timestamp: datetime | None = Field(
        default=None, description="The snapshot this page was read from."
    )


class AccountBalanceAt(BaseModel):
    """An account's posted balance at a past instant (``?as_of=``)."""

    account_id: str
    currency: str
    as_of: datetime = Field(description="The instant asked for, echoed.")
    existed: bool = Field(description="false: the account was opened after as_of.")
    balance: int = Field(
        description="Posted balance (credits - debits) after the account's last entry at or "
        "before as_of; 0 before its first."
    )
    sequence: int = Field(description="How many entries the account had at as_of.")


class Statement(BaseModel):
    """An account's entries over [from, to), summed; exact and consistent with them."""

    model_config = ConfigDict(populate_by_name=True)

    account_id: str
    currency: str
    from_: datetime = Field(alias="from", description="Entries posted at or after this...")
    to: datetime = Field(description="...and before this (now, if not asked).")
    opening_balance: int = Field(description="The balance just before from.")
    closing_balance: int = Field(description="The balance just before to.")
    debits: int = Field(description="What left the account in the range (a positive sum).")
    credits: int = Field(description="What came in.")
    entry_count: int = Field(description="Entries in the range, holds and releases included.")
    read_timestamp: datetime = Field(description="The snapshot the statement was read from.")
