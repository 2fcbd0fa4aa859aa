"""What a verification found: findings with a stable ``kind`` naming the account and
sequence (or the transfer, or the checkpoint) and, where the evidence shows it, the
field and the value that was sealed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

Subject = Literal["account", "entry", "transfer", "checkpoint"]

# Every kind a finding can have, with what it means (for --help and the docs).
FINDING_KINDS: dict[str, str] = {
    "entry_changed": "an entry no longer matches its seal (the field, when one explains it)",
    "entry_deleted": "an entry that was written is gone (a hole in the sequences)",
    "entry_inserted": "an entry was slipped in: unsealed among sealed ones, outside 1..Version, "
    "or dated before a checkpoint that does not hold it",
    "account_changed": "an account's opening, closing or reopening no longer matches its seal, "
    "or its row contradicts its sealed history",
    "account_deleted": "an account a checkpoint holds is gone",
    "account_inserted": "an account dated before a checkpoint is not in it",
    "transfer_changed": "a transfer's row differs from what its sealed entries say",
    "transfer_deleted": "entries name a transfer that is gone",
    "transfer_inserted": "a transfer no entry records",
    "history_changed": "an account's chain no longer gives the head a checkpoint committed to",
    "head_changed": "the sealer's stored head of a chain differs from the chain's seals",
    "checkpoint_changed": "a stored checkpoint differs from its digest or its published self",
    "checkpoint_deleted": "a checkpoint between two others is gone",
    "checkpoint_missing": "no stored checkpoint has a digest that was trusted",
    "checkpoint_signature": "a checkpoint's signature does not verify (or its key is unknown)",
}


@dataclass(frozen=True, kw_only=True)
class Finding:
    kind: str
    subject: Subject
    id: str  # the account's, the transfer's, or the checkpoint's number
    detail: str
    sequence: int | None = None  # the entry's, when the finding is about one
    field: str | None = None
    data: dict[str, object] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in FINDING_KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")


@dataclass(frozen=True)
class EvidenceReport:
    ledger: str
    findings: list[Finding]
    counts: dict[str, int]

    @property
    def whole(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.counts.items())
        if self.whole:
            return f"ledger {self.ledger}: every chain and checkpoint verifies ({counts})"
        kinds = sorted({f.kind for f in self.findings})
        return (
            f"ledger {self.ledger} CHANGED: {len(self.findings)} finding(s) "
            f"({', '.join(kinds)}; checked {counts})"
        )


def entry_finding(
    kind: str,
    account_id: str,
    sequence: int,
    detail: str,
    *,
    field: str | None = None,
    data: dict[str, object] | None = None,
) -> Finding:
    return Finding(
        kind=kind,
        subject="entry",
        id=account_id,
        sequence=sequence,
        field=field,
        detail=f"entry {sequence}: {detail}",
        data=data or {},
    )


def account_finding(
    kind: str,
    account_id: str,
    detail: str,
    *,
    field: str | None = None,
    data: dict[str, object] | None = None,
) -> Finding:
    return Finding(
        kind=kind, subject="account", id=account_id, detail=detail, field=field, data=data or {}
    )


def deleted_entries(account_id: str, first: int, last: int) -> list[Finding]:
    return [
        entry_finding("entry_deleted", account_id, sequence, "gone")
        for sequence in range(first, last + 1)
    ]
