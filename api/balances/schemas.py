from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
