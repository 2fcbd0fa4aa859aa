"""What an audit found: findings with a stable ``kind``, and the report around them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal

Subject = Literal["account", "currency", "transfer", "transaction"]

# Every kind a finding can have, with what it means (printed by --help and the docs).
KINDS: dict[str, str] = {
    "currency_unbalanced": "a currency's posted or pending balances do not sum to zero",
    "entries_total": "an account's debits/credits posted differ from what its entries moved",
    "balance_after": "an entry's BalanceAfter is not the running sum of the account's entries",
    "entry_totals": "an entry's DebitsAfter/CreditsAfter are not the running sums of its "
    "account's debits/credits",
    "sequence_gap": "an account's entry sequences have holes below its Version",
    "unexpected_sequence": "an account has entries outside 1..Version",
    "pending_totals": "an account's pending totals differ from its open holds or its entries",
    "transfer_invalid": "a transfer breaks a rule of its own row (status, amounts)",
    "reversal_total": "a transfer's ReversedAmount differs from the sum of its reversals",
    "transaction_legs": "a transaction's legs are not LegCount transfers of one status",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: Subject
    id: str
    detail: str
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditReport:
    database: str
    read_timestamp: datetime
    counts: dict[str, int]
    findings: list[Finding]
    # Checks whose violations were cut at the cap: more findings of that kind exist.
    truncated: list[str] = field(default_factory=list)

    @property
    def whole(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        if self.whole:
            return f"ledger whole: every check passed ({_counts(self.counts)})"
        kinds = sorted({f.kind for f in self.findings})
        return f"ledger DAMAGED: {len(self.findings)} finding(s) ({', '.join(kinds)})"

    def to_text(self) -> str:
        lines = [
            f"ledger audit of {self.database}",
            f"one snapshot at {self.read_timestamp.isoformat()}",
            f"checked: {_counts(self.counts)}",
            self.summary(),
        ]
        lines += [f"  {f.kind:<20} {f.subject} {f.id}: {f.detail}" for f in self.findings]
        lines += [f"  (more {kind} findings not listed: cut at the cap)" for kind in self.truncated]
        return "\n".join(lines)

    def to_json(self) -> str:
        """One line: on Cloud Run it becomes one structured log entry (``severity`` and
        ``message`` are the fields Cloud Logging reads)."""
        document = {
            "severity": "INFO" if self.whole else "ERROR",
            "message": self.summary(),
            "whole": self.whole,
            "database": self.database,
            "read_timestamp": self.read_timestamp.isoformat(),
            "counts": self.counts,
            "findings": [asdict(f) for f in self.findings],
            "truncated": self.truncated,
        }
        return json.dumps(document, separators=(",", ":"), default=str)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items())
