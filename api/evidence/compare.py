"""One account's chain against the checkpoints and against its sealer's stored head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from api.evidence.chain import ChainHead, genesis, link
from api.evidence.encoding import Fact
from api.evidence.findings import Finding, account_finding, deleted_entries
from api.evidence.rows import AccountChangeRow, AccountRow, EntryRow
from api.evidence.tree import Leaf


@dataclass
class ChainItem:
    """One fact of an account's chain as its rows give it."""

    fact: Fact | None  # None: the rows cannot make it (its transfer is gone)
    seal: bytes | None
    row: EntryRow | AccountChangeRow | None  # None: the row is gone
    position: tuple[int, int]
    after_gap: bool = False  # a deleted fact may lie just before this one
    matched: bool = False  # sealed, and its seal matches it

    @property
    def at_ns(self) -> int | None:
        if self.fact is not None:
            return self.fact.at_ns
        if isinstance(self.row, EntryRow):
            return self.row.posted_at_ns
        return None if self.row is None else self.row.at_ns


@dataclass
class Comparison:
    """A checkpoint the chains are compared with: by its leaves when they are known and
    give its root, else by the leaves the rows give (``derived``), compared as a root."""

    number: int
    snapshot_at_ns: int
    root: bytes
    leaves: Mapping[str, Leaf] | None
    derived: dict[str, Leaf] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)


def compare_chain(
    ledger: str, account_id: str, items: list[ChainItem], comparisons: Sequence[Comparison]
) -> list[Finding]:
    """Each checkpoint's leaf for the account against the chain's head at that length;
    a mismatch names the facts since the last checkpoint that agreed."""
    findings: list[Finding] = []
    heads = _prefix_heads(ledger, account_id, items)
    agreed = 0

    def history(kind: str, comparison: Comparison, detail: str) -> None:
        findings.append(
            account_finding(kind, account_id, detail, data={"checkpoint": comparison.number})
        )

    for comparison in sorted(comparisons, key=lambda c: c.number):
        number, dated = comparison.number, _dated(items, comparison.snapshot_at_ns)
        if comparison.leaves is None:
            head = heads[dated]
            if dated and head is not None:
                comparison.derived[account_id] = Leaf(
                    account_id=account_id, length=dated, head=head
                )
            continue
        comparison.seen.add(account_id)
        leaf = comparison.leaves.get(account_id)
        if leaf is None:
            if dated:
                history(
                    "account_inserted",
                    comparison,
                    f"opened at or before checkpoint {number}'s snapshot, yet not in it",
                )
        elif leaf.length >= len(heads):
            history(
                "history_changed",
                comparison,
                f"checkpoint {number} holds {leaf.length} facts; {len(items)} are left",
            )
        elif heads[leaf.length] is not None and heads[leaf.length] != leaf.head:
            history(
                "history_changed",
                comparison,
                f"its facts {_span(items[agreed : leaf.length])}"
                f" no longer give the head checkpoint {number} holds",
            )
        elif dated != leaf.length:
            history(
                "history_changed",
                comparison,
                f"{dated} facts are dated at or before "
                f"checkpoint {number}, which holds {leaf.length}",
            )
        else:
            agreed = leaf.length
    return findings


def head_findings(
    account: AccountRow, head: ChainHead | None, items: list[ChainItem]
) -> list[Finding]:
    """The sealer's head against the seals: it names the last fact sealed, so facts
    deleted from the end (Version lowered with them) still show."""
    if head is None or head.position is None:
        return []
    index = next((i for i, item in enumerate(items) if item.position == head.position), None)
    if index is None:  # the fact the sealer stopped at is gone
        if head.position[1] == 0 and head.position[0] > account.version:
            return deleted_entries(account.id, max(account.version + 1, 1), head.position[0])
        if head.position[1] != 0:
            gone = f"change {head.position[1]}, sealed, is gone"
            return [account_finding("account_changed", account.id, gone, field="changes")]
        return []
    # Fewer sealed facts than the head counts is a deletion, found as a hole already.
    beyond = sum(1 for item in items[index + 1 :] if item.seal is not None)
    if items[index].seal == head.head and not beyond:
        return []
    detail = (
        f"the sealer's head (up to {head.position}) is not the chain's: the seal there "
        f"differs, or {beyond} fact(s) after it are sealed"
    )
    data: dict[str, object] = {"length": head.length, "sealed_after": beyond}
    return [account_finding("head_changed", account.id, detail, data=data)]


def _prefix_heads(ledger: str, account_id: str, items: list[ChainItem]) -> list[bytes | None]:
    """heads[n]: the chain's head after its first n facts, from genesis; None from the
    first fact the rows cannot make."""
    heads: list[bytes | None] = [genesis(ledger, account_id)]
    for item in items:
        previous = heads[-1]
        heads.append(None if previous is None or item.fact is None else link(previous, item.fact))
    return heads


def _dated(items: list[ChainItem], snapshot_at_ns: int) -> int:
    """How many facts a checkpoint at ``snapshot_at_ns`` covers: those committed at or
    before it, which in an untouched chain are its first ones."""
    return sum(1 for item in items if item.at_ns is not None and item.at_ns <= snapshot_at_ns)


def _span(items: list[ChainItem]) -> str:
    names = [_name(item.position) for item in items]
    if not names:
        return "(none)"
    return names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]}"


def _name(position: tuple[int, int]) -> str:
    sequence, number = position
    if number == 0:
        return f"entry {sequence}"
    return "the opening" if number == 1 else f"change {number}"
