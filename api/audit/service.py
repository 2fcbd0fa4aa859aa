"""One audit: every check, from one read-only snapshot, account by account."""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass, field

from api.audit import repository
from api.audit.checks import AccountCheck, CurrencyTotals, pending_finding
from api.audit.report import AuditReport, Finding
from api.spanner.budget import Budget
from api.spanner.database import SpannerDatabase
from api.spanner.tx import PRIORITY_LOW, Tx

ACCOUNT_PAGE = 200
ENTRY_PAGE = 1000
# Rows per cross-row check: enough to act on, bounded so that a wrecked database still
# gives a report (the report says where it was cut).
MAX_VIOLATIONS = 1000


@dataclass
class _Audit:
    """What one pass over the snapshot gathers."""

    entry_page: int
    findings: list[Finding] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    accounts: int = 0
    entries: int = 0

    def run(self, tx: Tx) -> None:
        # Read first: the pending check joins its rows to the account stream below.
        held = repository.pending_hold_mismatches(tx, limit=MAX_VIOLATIONS)
        self._cut("pending_totals", held)
        currencies = CurrencyTotals()
        after: tuple[int, str] | None = None
        while page := repository.account_page(tx, after=after, limit=ACCOUNT_PAGE):
            for account in page:
                currencies.add(account)
                check = AccountCheck(account)
                for lowest, highest in repository.entry_windows(account.version, self.entry_page):
                    window = repository.entry_window(tx, account, lowest=lowest, highest=highest)
                    for entry in window:
                        check.feed(entry)
                self.findings += check.finish()
                pending = pending_finding(account, check.entries_pending, held.get(account.id))
                if pending is not None:
                    self.findings.append(pending)
                self.accounts += 1
                self.entries += check.entries
            after = (page[-1].key_hash, page[-1].id)
        self.findings += currencies.findings()
        self._transfers(tx)
        self.counts = {
            "accounts": self.accounts,
            "entries": self.entries,
            **repository.row_counts(tx),
            "currencies": len(currencies.accounts),
        }

    def _transfers(self, tx: Tx) -> None:
        problems = repository.transfer_rule_violations(tx, limit=MAX_VIOLATIONS)
        self._cut("transfer_invalid", problems)
        for p in problems:
            self.findings.append(
                Finding(
                    "transfer_invalid",
                    "transfer",
                    p.transfer_id,
                    f"{p.problem} (status {p.status}, amount {p.amount}, posted_amount "
                    f"{p.posted_amount}, reversed_amount {p.reversed_amount})",
                    {
                        "problem": p.problem,
                        "status": p.status,
                        "amount": p.amount,
                        "posted_amount": p.posted_amount,
                        "reversed_amount": p.reversed_amount,
                    },
                )
            )
        reversals = repository.reversal_total_mismatches(tx, limit=MAX_VIOLATIONS)
        self._cut("reversal_total", reversals)
        for transfer_id, recorded, summed in reversals:
            self.findings.append(
                Finding(
                    "reversal_total",
                    "transfer",
                    transfer_id,
                    f"reversed_amount {recorded}, but its reversals move {summed}",
                    {"reversed_amount": recorded, "reversals": summed},
                )
            )
        legs = repository.transaction_leg_mismatches(tx, limit=MAX_VIOLATIONS)
        self._cut("transaction_legs", legs)
        for leg in legs:
            expected = "no Transactions row" if leg.leg_count is None else f"{leg.leg_count} legs"
            self.findings.append(
                Finding(
                    "transaction_legs",
                    "transaction",
                    leg.transaction_id,
                    f"{expected}; found {leg.legs} leg transfer(s) in {leg.statuses} status(es)",
                    {"leg_count": leg.leg_count, "legs": leg.legs, "statuses": leg.statuses},
                )
            )

    def _cut(self, kind: str, rows: Sized) -> None:
        if len(rows) >= MAX_VIOLATIONS:
            self.truncated.append(kind)


def run_audit(
    database: SpannerDatabase, *, budget: Budget, where: str, entry_page: int = ENTRY_PAGE
) -> AuditReport:
    """Audit the database behind ``database`` from one strong read-only snapshot.

    Low priority: an audit of the serving database yields to the service's own reads.
    ``call`` bounds the whole audit (every RPC ends by its deadline).
    """
    audit = _Audit(entry_page=entry_page)
    _, read_timestamp = database.read_consistent(audit.run, budget=budget, priority=PRIORITY_LOW)
    return AuditReport(
        database=where,
        read_timestamp=read_timestamp,
        counts=audit.counts,
        findings=audit.findings,
        truncated=audit.truncated,
    )
