"""One account's chain checked from its rows: each fact against its own seal (so every
changed fact is named, not just the first), the whole chain against the checkpoints,
and the account's row against its sealed history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from api.evidence.chain import ChainHead, genesis, link
from api.evidence.compare import ChainItem, Comparison, compare_chain, head_findings
from api.evidence.encoding import AccountFact, EncodingError, EntryFact, Fact
from api.evidence.findings import Finding, account_finding, deleted_entries, entry_finding
from api.evidence.forensics import (
    AccountContext,
    Change,
    EntryContext,
    account_candidates,
    entry_candidates,
    explain,
)
from api.evidence.rows import (
    AccountChangeRow,
    AccountRow,
    EntryRow,
    TransferRow,
    change_fact,
    entry_fact,
    opening_fact,
)

# Changed facts per account whose fields are searched for; past it they are named only
# (a chain rewritten wholesale would otherwise cost a search per fact).
EXPLAINED_PER_ACCOUNT = 100


@dataclass(frozen=True)
class Unexplained:
    fact: EntryFact
    previous: bytes
    seal: bytes
    finding: Finding


@dataclass
class AccountCheck:
    """One account's rows against their seals, the checkpoints and its sealer's head;
    ``run`` fills ``findings`` and what the ledger-wide checks need."""

    ledger: str
    account: AccountRow
    changes: Sequence[AccountChangeRow]
    entries: Sequence[EntryRow]
    transfers: Mapping[str, TransferRow]
    head: ChainHead | None = None
    sealed_until_ns: int | None = None  # the latest checkpoint's snapshot
    findings: list[Finding] = field(default_factory=list)
    # Entries whose fields can be trusted to tell what became of their transfers: those
    # that match their seals, and those not sealed yet (newer than any checkpoint).
    facts: list[EntryFact] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)  # every transfer an entry names
    # Changed entries no field of their own explains: another account's entry of the same
    # transfer may show which of the transfer's terms changed.
    unexplained: list[Unexplained] = field(default_factory=list)
    unsealed: int = 0
    _explained: int = 0
    _entries_by_sequence: dict[int, EntryRow] | None = None
    # Places after which a change was deleted: where exactly is unknown, so the first
    # broken link after each is that deletion, not a change of its own.
    _gaps: list[tuple[int, int]] = field(default_factory=list)

    def run(self, comparisons: Sequence[Comparison]) -> None:
        items = self._items()
        self._check_seals(items)
        self.findings += compare_chain(self.ledger, self.account.id, items, comparisons)
        self.findings += head_findings(self.account, self.head, items)
        self._check_row(items)

    # --- the facts, from the rows ------------------------------------------------------

    def _items(self) -> list[ChainItem]:
        items = self._change_items()
        entries = sorted(self.entries, key=lambda e: e.sequence)
        expected, totals = 1, (0, 0)
        for entry in entries:
            if not 1 <= entry.sequence <= self.account.version:
                self._entry("entry_inserted", entry, f"outside 1..{self.account.version} (Version)")
            if entry.sequence > expected:
                self._deleted(expected, entry.sequence - 1)
            fact = self._entry_fact(entry, totals)
            self.referenced.add(entry.transfer_id)
            if fact is not None:
                totals = (fact.debits_after, fact.credits_after)
            items.append(
                ChainItem(fact, entry.seal, entry, (entry.sequence, 0), entry.sequence != expected)
            )
            expected = entry.sequence + 1
        if expected <= self.account.version:
            self._deleted(expected, self.account.version)
        return sorted(items, key=lambda item: item.position)

    def _change_items(self) -> list[ChainItem]:
        by_number = {change.number: change for change in self.changes}
        opened = by_number.pop(1, None)
        if opened is None:
            self._account("its opening (change 1) is gone", data={"number": 1})
        elif opened.kind != "opened" or opened.version != 0:
            self._account(f"change 1 is {opened.kind!r} at version {opened.version}", field="kind")
        opening = opening_fact(self.ledger, self.account)
        items = [ChainItem(opening, opened.seal if opened else None, opened, (0, 1))]
        previous = (1, (0, 1))  # the last change's number and place
        counted = max([*by_number, self.account.changes or 0, 1])
        for number in range(2, counted + 2):
            change = by_number.get(number)
            if change is None and number <= counted:
                self._account(f"change {number} is gone", field="changes", data={"number": number})
                self._gaps.append(previous[1])
                continue
            if change is None:
                break
            try:
                fact: Fact | None = change_fact(self.ledger, change)
            except EncodingError as exc:
                self._account(str(exc), field="kind", data={"number": number})
                fact = None
            place = (change.version, number)
            items.append(ChainItem(fact, change.seal, change, place, number != previous[0] + 1))
            previous = (number, place)
        return items

    def _entry_fact(self, entry: EntryRow, totals: tuple[int, int]) -> EntryFact | None:
        transfer = self.transfers.get(entry.transfer_id)
        if transfer is None:
            self.findings.append(
                Finding(
                    kind="transfer_deleted",
                    subject="transfer",
                    id=entry.transfer_id,
                    detail=f"named by entry {entry.sequence} of {self.account.id}, but gone",
                    data={"account_id": self.account.id, "sequence": entry.sequence},
                )
            )
            return None
        if (entry.debits_after is None or entry.credits_after is None) and entry.seal is not None:
            self._entry(
                "entry_changed",
                entry,
                "sealed, yet its DebitsAfter/CreditsAfter are empty",
                field="debits_after",
            )
        debited, credited = max(-entry.amount, 0), max(entry.amount, 0)
        return entry_fact(
            self.ledger, entry, transfer, totals=(totals[0] + debited, totals[1] + credited)
        )

    # --- each fact against its seal ----------------------------------------------------

    def _check_seals(self, items: list[ChainItem]) -> None:
        previous: bytes | None = genesis(self.ledger, self.account.id)
        unsealed: list[ChainItem] = []
        for item in items:
            seal, fact = item.seal, item.fact
            if item.row is None:  # its row is gone (already a finding): nothing to check
                previous = None
                continue
            if seal is None:  # not in the chain: the next sealed fact follows the last sealed
                unsealed.append(item)
                continue
            for slipped in unsealed:  # unsealed facts before a sealed one
                self._inserted(slipped, "unsealed, yet a later fact is sealed")
            unsealed = []
            forgiven = self._after_deleted_change(item)
            if fact is not None and previous is not None and not item.after_gap:
                item.matched = link(previous, fact) == seal
                if not item.matched and not forgiven:
                    self._changed(item, fact, seal, previous, items)
            previous = seal
        self.unsealed = len(unsealed)
        for item in unsealed:
            if self.sealed_until_ns is not None and (item.at_ns or 0) <= self.sealed_until_ns:
                self._inserted(item, "unsealed, yet dated before the latest checkpoint")
            else:
                item.matched = True  # newer than any checkpoint: nothing to hold it to yet
        self.facts = [i.fact for i in items if i.matched and isinstance(i.fact, EntryFact)]

    def _after_deleted_change(self, item: ChainItem) -> bool:
        """Whether ``item`` is the first sealed fact after a deleted change's place."""
        passed = [place for place in self._gaps if place < item.position]
        self._gaps = [place for place in self._gaps if place >= item.position]
        return bool(passed)

    def _changed(
        self, item: ChainItem, fact: Fact, seal: bytes, previous: bytes, items: list[ChainItem]
    ) -> None:
        """The finding for a fact that no longer matches its seal, with the field."""
        changes: list[Change] = []
        if self._explained < EXPLAINED_PER_ACCOUNT:
            self._explained += 1
            candidates = (
                entry_candidates(fact, self._entry_context(fact))
                if isinstance(fact, EntryFact)
                else account_candidates(fact, self._account_context(items))
            )
            changes = explain(previous, seal, fact, candidates)
        if not changes:
            self._fact_changed(
                item,
                None,
                "no longer matches its seal, and no one or two fields explain it (several "
                "changed, or the chain was rewritten)",
            )
            if isinstance(fact, EntryFact):
                self.unexplained.append(Unexplained(fact, previous, seal, self.findings[-1]))
        for change in changes:
            self._fact_changed(
                item, change, f"{change.field} is {change.stored!r}; {change.sealed!r} was sealed"
            )

    def _fact_changed(self, item: ChainItem, change: Change | None, detail: str) -> None:
        fact, name = item.fact, change.field if change else None
        data = {} if change is None else {"stored": change.stored, "sealed": change.sealed}
        if isinstance(fact, EntryFact) and name and name.startswith("transfer."):
            self.findings.append(
                Finding(
                    kind="transfer_changed",
                    subject="transfer",
                    id=fact.transfer_id,
                    field=name.removeprefix("transfer."),
                    detail=f"{detail} (entry {fact.sequence} of {self.account.id})",
                    data={**data, "account_id": self.account.id, "sequence": fact.sequence},
                )
            )
        elif isinstance(fact, EntryFact):
            self.findings.append(
                Finding(
                    kind="entry_changed",
                    subject="entry",
                    id=self.account.id,
                    sequence=fact.sequence,
                    field=name,
                    detail=f"entry {fact.sequence} (transfer {fact.transfer_id}): {detail}",
                    data=data,
                )
            )
        elif isinstance(fact, AccountFact):
            what = {"opened": "opening", "closed": "close", "reopened": "reopening"}[fact.kind]
            self._account(
                f"its {what} (change {fact.number}): {detail}",
                field=name,
                data={**data, "number": fact.number},
            )

    def _entry_context(self, fact: EntryFact) -> EntryContext:
        by_sequence = self._by_sequence()
        return EntryContext(
            transfer=self.transfers[fact.transfer_id],
            account=self.account,
            before=by_sequence.get(fact.sequence - 1),
            after=by_sequence.get(fact.sequence + 1),
        )

    def _by_sequence(self) -> dict[int, EntryRow]:
        if self._entries_by_sequence is None:
            self._entries_by_sequence = {entry.sequence: entry for entry in self.entries}
        return self._entries_by_sequence

    def _account_context(self, items: list[ChainItem]) -> AccountContext:
        first = next((i.fact for i in items if isinstance(i.fact, EntryFact)), None)
        opened = items[0].row if isinstance(items[0].row, AccountChangeRow) else None
        return AccountContext(
            account=self.account,
            opened=opened,
            first_currency=first.transfer.currency if first else None,
        )

    def _check_row(self, items: list[ChainItem]) -> None:
        last_entry = next((i.fact for i in reversed(items) if isinstance(i.fact, EntryFact)), None)
        debits, credits = (
            (last_entry.debits_after, last_entry.credits_after) if last_entry else (0, 0)
        )
        for name, stored, sealed in (
            ("debits_posted", self.account.debits_posted, debits),
            ("credits_posted", self.account.credits_posted, credits),
        ):
            if stored != sealed:
                self._account(
                    f"{name} is {stored}; its last entry says {sealed}",
                    field=name,
                    data={"stored": stored, "sealed": sealed},
                )
        last_change = next(
            (i.fact for i in reversed(items) if isinstance(i.fact, AccountFact)), None
        )
        closed = last_change is not None and last_change.kind == "closed"
        if self.account.closed != closed:
            self._account(
                f"closed is {self.account.closed}; its changes end with "
                f"{last_change.kind if last_change else 'none'}",
                field="closed",
            )

    # --- findings ----------------------------------------------------------------------

    def _account(
        self, detail: str, *, field: str | None = None, data: dict[str, object] | None = None
    ) -> None:
        self.findings.append(
            account_finding("account_changed", self.account.id, detail, field=field, data=data)
        )

    def _entry(self, kind: str, entry: EntryRow, detail: str, *, field: str | None = None) -> None:
        self.findings.append(
            entry_finding(kind, self.account.id, entry.sequence, detail, field=field)
        )

    def _deleted(self, first: int, last: int) -> None:
        self.findings += deleted_entries(self.account.id, first, last)

    def _inserted(self, item: ChainItem, detail: str) -> None:
        if isinstance(item.row, EntryRow):
            self._entry("entry_inserted", item.row, detail)
        elif item.position == (0, 1):
            self.findings.append(
                account_finding("account_inserted", self.account.id, f"its opening is {detail}")
            )
        else:
            self._account(f"change at {item.position} is {detail}", field="changes")
