from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.accounts.schemas import AccountBalanceAt


class Balance(BaseModel):
    account_id: str
    currency: str
    balance: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int


class BalanceSnapshot(BaseModel):
    read_timestamp: datetime = Field(
        description="All balances are as of this instant (one Spanner snapshot)."
    )
    balances: list[Balance] = Field(description="In the order the ids were asked for.")


class BalanceSnapshotAt(BaseModel):
    as_of: datetime = Field(description="Every balance is as of this instant: one exact cut.")
    read_timestamp: datetime = Field(description="The snapshot the entries were read from.")
    balances: list[AccountBalanceAt] = Field(description="In the order the ids were asked for.")
