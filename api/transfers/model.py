"""The transfer as the domain sees it: plain data, no Spanner and no HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

TransferStatus = Literal["posted"]


@dataclass(frozen=True)
class TransferOrder:
    """A request to move money, checked and fingerprinted before any transaction."""

    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str | None
    metadata: dict[str, Any] | None
    fingerprint: str


@dataclass(frozen=True)
class TransferRecord:
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    status: TransferStatus
    metadata: dict[str, Any] | None
    request_hash: str
    created_at: datetime | None  # None until the creating transaction commits
