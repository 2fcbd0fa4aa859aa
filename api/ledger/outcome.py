"""What became of one order: the one result type of every write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from api.errors import LedgerError
from api.ledger.records import TransactionRecord, TransferRecord


@dataclass(frozen=True)
class Outcome:
    """Created, replayed (the same order again: nothing changed) or failed (with its
    problem). An order on a transaction carries the transaction and its legs, in leg
    order; any other, its transfer."""

    kind: Literal["created", "replayed", "failed"]
    transfer: TransferRecord | None = None
    error: LedgerError | None = None
    transaction: TransactionRecord | None = None
    legs: tuple[TransferRecord, ...] = ()

    @property
    def created(self) -> bool:
        return self.kind == "created"
