"""The transfer as the domain sees it: plain data, no Spanner and no HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.transfers.schemas import Transfer, TransferStatus


@dataclass
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

    def to_schema(self, *, commit_timestamp: datetime | None = None) -> Transfer:
        created = self.created_at or commit_timestamp
        if created is None:
            raise ValueError(f"transfer {self.id} is not committed yet")
        return Transfer(
            id=self.id,
            debit_account_id=self.debit_account_id,
            credit_account_id=self.credit_account_id,
            amount=self.amount,
            currency=self.currency,
            status=self.status,
            metadata=self.metadata,
            created_at=created,
        )
