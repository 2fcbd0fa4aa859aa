"""The per-account checks, fed one account's entries oldest first: pure, no I/O.

An account's history is checked as a stream, so an account with millions of entries
costs memory for one page of them. What is checked, and why it pins down the damage:

- sequences run 1..Version with no hole: a hole is a deleted entry (its amount is
  recovered from the balances on either side of it);
- each BalanceAfter is the running sum of the amounts from the first entry: an absolute
  sum, so one altered BalanceAfter is reported alone, not with every entry after it;
  after a hole the sum restarts from the stored balance (what went missing is already
  the hole's finding);
- each DebitsAfter and CreditsAfter (spanner_ddl/0015; statements subtract them) is the
  running sum of what the entries debited and credited, restarting after a hole from
  the stored totals; entries written before 0015 carry none and are not checked;
- the amounts sum to DebitsPosted and CreditsPosted (debit legs are negative), and the
  pending amounts to CreditsPending - DebitsPending.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from api.audit.report import Finding

LISTED = 20  # sequences named in one finding; the rest are counted


@dataclass(frozen=True)
class AuditAccount:
    key_hash: int
    id: str
    currency: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int


@dataclass(frozen=True)
class AuditEntry:
    sequence: int
    amount: int
    balance_after: int
    pending_amount: int
    totals_after: tuple[int, int] | None = None  # (DebitsAfter, CreditsAfter)


@dataclass(frozen=True)
class Gap:
    first: int
    last: int
    moved: int | None  # what the missing entries moved, when entries follow the gap


@dataclass
class AccountCheck:
    account: AuditAccount
    entries: int = 0
    _expected: int = 1
    _running: int = 0
    _debits: int = 0
    _credits: int = 0
    _pending: int = 0
    _gaps: list[Gap] = field(default_factory=list)
    _bad_balance: list[tuple[int, int, int]] = field(default_factory=list)
    _bad_balance_count: int = 0
    # What the entries debited and credited so far; None from a hole until an entry
    # that stores its totals.
    _totals: tuple[int, int] | None = (0, 0)
    _bad_totals: list[tuple[int, tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    _bad_totals_count: int = 0
    _outside: list[int] = field(default_factory=list)

    def feed(self, entry: AuditEntry) -> None:
        """The next entry, in ascending Sequence order."""
        self.entries += 1
        if entry.sequence < 1 or entry.sequence > self.account.version:
            self._outside.append(entry.sequence)
        if entry.sequence > self._expected:
            before = entry.balance_after - entry.amount
            self._gaps.append(Gap(self._expected, entry.sequence - 1, before - self._running))
            self._running = before
            self._totals = None
        self._running += entry.amount
        if entry.balance_after != self._running:
            self._bad_balance_count += 1
            if len(self._bad_balance) < LISTED:
                self._bad_balance.append((entry.sequence, entry.balance_after, self._running))
        self._check_totals(entry)
        if entry.amount < 0:
            self._debits -= entry.amount
        else:
            self._credits += entry.amount
        self._pending += entry.pending_amount
        self._expected = max(self._expected, entry.sequence + 1)

    def _check_totals(self, entry: AuditEntry) -> None:
        if self._totals is None:
            self._totals = entry.totals_after
            return
        debits, credits = self._totals
        self._totals = (debits + max(-entry.amount, 0), credits + max(entry.amount, 0))
        if entry.totals_after is not None and entry.totals_after != self._totals:
            self._bad_totals_count += 1
            if len(self._bad_totals) < LISTED:
                self._bad_totals.append((entry.sequence, entry.totals_after, self._totals))

    def finish(self) -> list[Finding]:
        account = self.account
        if self._expected <= account.version:
            self._gaps.append(Gap(self._expected, account.version, None))
        findings: list[Finding] = []
        if self._gaps:
            findings.append(self._gap_finding())
        if self._outside:
            findings.append(
                Finding(
                    "unexpected_sequence",
                    "account",
                    account.id,
                    f"entries at sequence(s) {_listed(self._outside)} outside "
                    f"1..{account.version} (its Version)",
                    {"sequences": self._outside[:LISTED], "count": len(self._outside)},
                )
            )
        if self._bad_balance:
            shown = ", ".join(
                f"{s} (stored {got}, running sum {want})" for s, got, want in self._bad_balance
            )
            more = self._bad_balance_count - len(self._bad_balance)
            findings.append(
                Finding(
                    "balance_after",
                    "account",
                    account.id,
                    f"BalanceAfter wrong at sequence {shown}"
                    + (f" and {more} more" if more else ""),
                    {
                        "sequences": [s for s, _, _ in self._bad_balance],
                        "count": self._bad_balance_count,
                    },
                )
            )
        if self._bad_totals:
            findings.append(self._totals_finding())
        if (self._debits, self._credits) != (account.debits_posted, account.credits_posted):
            findings.append(
                Finding(
                    "entries_total",
                    "account",
                    account.id,
                    f"debits_posted {account.debits_posted} / credits_posted "
                    f"{account.credits_posted}, but its entries debit {self._debits} and "
                    f"credit {self._credits}",
                    {
                        "debits_posted": account.debits_posted,
                        "credits_posted": account.credits_posted,
                        "entries_debits": self._debits,
                        "entries_credits": self._credits,
                    },
                )
            )
        return findings

    @property
    def entries_pending(self) -> int:
        """What the entries say holds reserve, net: credits pending - debits pending."""
        return self._pending

    def _totals_finding(self) -> Finding:
        shown = ", ".join(
            f"{s} (stored {got[0]} / {got[1]}, running sums {want[0]} / {want[1]})"
            for s, got, want in self._bad_totals
        )
        more = self._bad_totals_count - len(self._bad_totals)
        return Finding(
            "entry_totals",
            "account",
            self.account.id,
            f"DebitsAfter / CreditsAfter wrong at sequence {shown}"
            + (f" and {more} more" if more else ""),
            {"sequences": [s for s, _, _ in self._bad_totals], "count": self._bad_totals_count},
        )

    def _gap_finding(self) -> Finding:
        parts = []
        for gap in self._gaps[:LISTED]:
            span = str(gap.first) if gap.first == gap.last else f"{gap.first}-{gap.last}"
            moved = "" if gap.moved is None else f" (they moved {gap.moved})"
            parts.append(span + moved)
        return Finding(
            "sequence_gap",
            "account",
            self.account.id,
            f"entries missing at sequence {', '.join(parts)} of 1..{self.account.version}",
            {
                "missing": [[g.first, g.last] for g in self._gaps[:LISTED]],
                "count": sum(g.last - g.first + 1 for g in self._gaps),
            },
        )


def _listed(values: list[int]) -> str:
    shown = ", ".join(map(str, values[:LISTED]))
    return shown + (f" and {len(values) - LISTED} more" if len(values) > LISTED else "")


@dataclass(frozen=True)
class HeldTotals:
    """An account's pending totals as the open holds (Transfers) add them up."""

    account_id: str
    debits_pending: int
    credits_pending: int
    held_debits: int
    held_credits: int


def pending_finding(
    account: AuditAccount, entries_pending: int, held: HeldTotals | None
) -> Finding | None:
    """One finding for an account whose pending totals disagree with its open holds
    (``held``: set only when they differ) or with its entries' pending amounts."""
    entries_agree = entries_pending == account.credits_pending - account.debits_pending
    if entries_agree and held is None:
        return None
    detail = f"debits_pending {account.debits_pending} / credits_pending {account.credits_pending}"
    data: dict[str, object] = {
        "debits_pending": account.debits_pending,
        "credits_pending": account.credits_pending,
        "entries_net_pending": entries_pending,
    }
    if held is not None:
        detail += f", but its open holds reserve {held.held_debits} / {held.held_credits}"
        data |= {"held_debits": held.held_debits, "held_credits": held.held_credits}
    if not entries_agree:
        detail += (
            f"{',' if held is None else ' and'} its entries' pending amounts net {entries_pending}"
            f" (expected {account.credits_pending - account.debits_pending})"
        )
    return Finding("pending_totals", "account", account.id, detail, data)


@dataclass
class CurrencyTotals:
    """Per currency, over every account: posted and pending nets, which must be zero."""

    accounts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    posted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pending: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, account: AuditAccount) -> None:
        self.accounts[account.currency] += 1
        self.posted[account.currency] += account.credits_posted - account.debits_posted
        self.pending[account.currency] += account.credits_pending - account.debits_pending

    def findings(self) -> list[Finding]:
        findings = []
        for currency in sorted(self.accounts):
            posted, pending = self.posted[currency], self.pending[currency]
            if posted or pending:
                findings.append(
                    Finding(
                        "currency_unbalanced",
                        "currency",
                        currency,
                        f"over {self.accounts[currency]} accounts, balances sum to {posted} "
                        f"and pending credits - debits to {pending} (both must be 0)",
                        {"posted": posted, "pending": pending, "accounts": self.accounts[currency]},
                    )
                )
        return findings
