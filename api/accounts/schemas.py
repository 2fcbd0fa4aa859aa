"""Wire shapes of the accounts area."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.ids import Currency, Metadata, ResourceId


class AccountFlags(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    debits_must_not_exceed_credits: bool = Field(
        default=False, description="Balance may never go below zero (e.g. a wallet)."
    )
    credits_must_not_exceed_debits: bool = Field(
        default=False, description="Balance may never go above zero (e.g. a credit line)."
    )

    @model_validator(mode="after")
    def _exclusive(self) -> AccountFlags:
        if self.debits_must_not_exceed_credits and self.credits_must_not_exceed_debits:
            raise ValueError("at most one of the two balance flags may be set")
        return self


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ResourceId | None = Field(
        default=None,
        description="Client-chosen id; makes the request idempotent. Generated if absent.",
    )
    currency: Currency
    flags: AccountFlags = Field(default_factory=AccountFlags)
    metadata: Metadata | None = None


class Account(BaseModel):
    id: str
    currency: str
    flags: AccountFlags
    metadata: Metadata | None
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balance: int = Field(description="credits_posted - debits_posted, in minor units.")
    version: int = Field(description="Number of entries posted to the account.")
    created_at: datetime
    updated_at: datetime


class AccountPage(BaseModel):
    items: list[Account]
    next_page_token: str | None = Field(
        description="Pass as page_token for the next page; absent on the last page."
    )


class Entry(BaseModel):
    account_id: str
    sequence: int = Field(description="1 for the account's first entry, then +1 each.")
    transfer_id: str
    amount: int = Field(description="Signed: negative for a debit, positive for a credit.")
    balance_after: int
    posted_at: datetime


class EntryPage(BaseModel):
    items: list[Entry]
    next_page_token: str | None
