"""A whole ledger verified from its rows: every chain recomputed from genesis, every
stored checkpoint checked (digest, signature, its link to the one before), the chains
compared with the latest checkpoint and with every checkpoint trusted from outside, and
each transfer's row with what its sealed entries say.

``python -m api.audit --verify`` reads the rows from one snapshot and feeds them here,
account by account (``LedgerVerifier``), so memory holds one account's history, the
transfers' summaries and the checkpoints' leaves; ``verify_ledger`` does it all at once
for rows already in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from api.evidence.account_check import AccountCheck, Unexplained
from api.evidence.chain import ChainHead
from api.evidence.checkpoint import NO_PREVIOUS, Checkpoint
from api.evidence.compare import Comparison
from api.evidence.encoding import EntryFact
from api.evidence.findings import EvidenceReport, Finding
from api.evidence.forensics import Change, explain
from api.evidence.rows import AccountChangeRow, AccountRow, EntryRow, TransferRow
from api.evidence.signing import verify_signature
from api.evidence.tree import Leaf, root_of


@dataclass(frozen=True, kw_only=True)
class StoredCheckpoint:
    """A checkpoint as stored: its row (``checkpoint``, with the ``digest`` column as
    stored) and, when the caller read them, the leaves of its tree at that version."""

    checkpoint: Checkpoint
    digest: bytes
    leaves: Mapping[str, Leaf] | None = None


class LedgerVerifier:
    def __init__(
        self,
        ledger: str,
        *,
        transfers: Mapping[str, TransferRow],
        checkpoints: Sequence[StoredCheckpoint] = (),
        public_keys: Mapping[str, str] | None = None,
        trusted: Sequence[bytes | Checkpoint] = (),
    ) -> None:
        """``transfers``: every transfer of the ledger; ``public_keys``: key name -> PEM
        (None: signatures are not checked); ``trusted``: digests (or whole checkpoint
        documents) kept outside the database."""
        self.ledger = ledger
        self._transfers = transfers
        self._findings: list[Finding] = []
        self._uses: dict[str, list[EntryFact]] = defaultdict(list)
        self._referenced: set[str] = set()
        self._unexplained: list[Unexplained] = []
        self._counts = {"accounts": 0, "entries": 0, "unsealed facts": 0, "checkpoints": 0}
        self._comparisons, self._latest = self._check_checkpoints(checkpoints, public_keys, trusted)

    def account(
        self,
        account: AccountRow,
        changes: Sequence[AccountChangeRow],
        entries: Sequence[EntryRow],
        *,
        head: ChainHead | None = None,
    ) -> None:
        """One account's rows: all its changes and entries."""
        check = AccountCheck(
            ledger=self.ledger,
            account=account,
            changes=changes,
            entries=entries,
            transfers=self._transfers,
            head=head,
            sealed_until_ns=self._latest,
        )
        check.run(self._comparisons)
        self._findings += check.findings
        self._unexplained += check.unexplained
        self._referenced |= check.referenced
        for fact in check.facts:
            self._uses[fact.transfer_id].append(fact)
        self._counts["accounts"] += 1
        self._counts["entries"] += len(entries)
        self._counts["unsealed facts"] += check.unsealed

    def finish(self) -> EvidenceReport:
        for comparison in self._comparisons:
            self._finish_comparison(comparison)
        self._explain_across_accounts()
        for transfer in self._transfers.values():
            if transfer.id not in self._referenced:
                self._findings.append(
                    Finding(
                        kind="transfer_inserted",
                        subject="transfer",
                        id=transfer.id,
                        detail="no entry names it (it was inserted, or its entries deleted)",
                    )
                )
            elif transfer.id in self._uses:
                self._findings += transfer_findings(transfer, self._uses[transfer.id])
        self._findings += self._reversal_findings()
        return EvidenceReport(self.ledger, self._findings, dict(self._counts))

    def _explain_across_accounts(self) -> None:
        """A transfer's term changed shows as a field on the entry whose account the
        old value names, and as an unexplained change on the other leg: that one is the
        same change, not another."""
        terms: dict[str, list[Change]] = defaultdict(list)
        for finding in self._findings:
            if finding.kind == "transfer_changed" and finding.field and "sealed" in finding.data:
                change = Change(
                    f"transfer.{finding.field}", finding.data["sealed"], finding.data["stored"]
                )
                terms[finding.id].append(change)
        explained = {
            id(item.finding)
            for item in self._unexplained
            if explain(item.previous, item.seal, item.fact, terms.get(item.fact.transfer_id, []))
        }
        self._findings = [f for f in self._findings if id(f) not in explained]

    # --- checkpoints -------------------------------------------------------------------

    def _check_checkpoints(
        self,
        stored: Sequence[StoredCheckpoint],
        public_keys: Mapping[str, str] | None,
        trusted: Sequence[bytes | Checkpoint],
    ) -> tuple[list[Comparison], int | None]:
        authentic: dict[int, StoredCheckpoint] = {}
        by_number = sorted(stored, key=lambda s: s.checkpoint.statement.number)
        self._counts["checkpoints"] = len(by_number)
        previous: Checkpoint | None = None
        for row in by_number:
            if self._checkpoint_intact(row, previous, public_keys):
                authentic[row.checkpoint.statement.number] = row
            previous = row.checkpoint
        compared = self._trusted(by_number, trusted)
        if authentic:
            latest = authentic[max(authentic)]
            compared.setdefault(latest.checkpoint.statement.number, latest)
        comparisons = [self._comparison(row) for row in compared.values()]
        snapshot = max((c.snapshot_at_ns for c in comparisons), default=None)
        return comparisons, snapshot

    def _checkpoint_intact(
        self,
        row: StoredCheckpoint,
        previous: Checkpoint | None,
        public_keys: Mapping[str, str] | None,
    ) -> bool:
        statement, number = row.checkpoint.statement, row.checkpoint.statement.number
        intact = True
        expected = 1 if previous is None else previous.statement.number + 1
        if number > expected:
            self._checkpoint(
                "checkpoint_deleted", number - 1, f"checkpoints {expected}..{number - 1} are gone"
            )
        elif previous is not None and statement.previous != previous.digest:
            self._checkpoint(
                "checkpoint_changed",
                number,
                f"its previous is not checkpoint {previous.statement.number}'s digest",
                field="previous",
            )
            intact = False
        if previous is None and number == 1 and statement.previous != NO_PREVIOUS:
            self._checkpoint("checkpoint_changed", number, "the first has a previous", "previous")
            intact = False
        if row.digest != row.checkpoint.digest:
            self._checkpoint(
                "checkpoint_changed",
                number,
                "its stored digest is not its statement's: a field of its row was changed",
            )
            intact = False
        if public_keys is not None:
            pem = public_keys.get(row.checkpoint.key_name)
            if pem is None or not verify_signature(
                pem, row.checkpoint.digest, row.checkpoint.signature
            ):
                why = "its key is unknown" if pem is None else "its signature does not verify"
                self._checkpoint(
                    "checkpoint_signature", number, f"{why} ({row.checkpoint.key_name})"
                )
                intact = False
        return intact

    def _trusted(
        self, stored: Sequence[StoredCheckpoint], trusted: Sequence[bytes | Checkpoint]
    ) -> dict[int, StoredCheckpoint]:
        by_digest = {row.checkpoint.digest: row for row in stored}
        by_number = {row.checkpoint.statement.number: row for row in stored}
        compared: dict[int, StoredCheckpoint] = {}
        for item in trusted:
            digest = item if isinstance(item, bytes) else item.digest
            row = by_digest.get(digest)
            if row is not None:
                compared[row.checkpoint.statement.number] = row
                continue
            if isinstance(item, bytes):
                self._checkpoint(
                    "checkpoint_missing",
                    digest.hex(),
                    "no stored checkpoint has this digest: it was deleted or rewritten",
                )
                continue
            number = item.statement.number
            kind = "checkpoint_changed" if number in by_number else "checkpoint_deleted"
            self._checkpoint(kind, number, "the stored checkpoint is not the published one")
            compared[number] = StoredCheckpoint(checkpoint=item, digest=item.digest)
        return compared

    def _comparison(self, row: StoredCheckpoint) -> Comparison:
        statement = row.checkpoint.statement
        leaves = row.leaves
        if leaves is not None and root_of(self.ledger, leaves.values()) != statement.root:
            self._checkpoint(
                "checkpoint_changed",
                statement.number,
                "its stored tree does not give its root: its leaves were changed",
            )
            leaves = None
        return Comparison(statement.number, statement.snapshot_at_ns, statement.root, leaves)

    def _finish_comparison(self, comparison: Comparison) -> None:
        if comparison.leaves is None:
            if root_of(self.ledger, comparison.derived.values()) != comparison.root:
                self._checkpoint(
                    "history_changed",
                    comparison.number,
                    "the rows no longer give its root; the findings above say where, if they can",
                )
            return
        for account_id in sorted(set(comparison.leaves) - comparison.seen):
            self._findings.append(
                Finding(
                    kind="account_deleted",
                    subject="account",
                    id=account_id,
                    detail=f"checkpoint {comparison.number} holds it; it is gone",
                    data={"checkpoint": comparison.number},
                )
            )

    def _checkpoint(
        self, kind: str, number: int | str, detail: str, field: str | None = None
    ) -> None:
        self._findings.append(
            Finding(kind=kind, subject="checkpoint", id=str(number), detail=detail, field=field)
        )

    def _reversal_findings(self) -> list[Finding]:
        """Each transfer's reversed amount against the reversals its sealed entries
        name; unknown (not checked) where a reversal's own entries are untrustworthy."""
        reversed_by: dict[str, int] = defaultdict(int)
        for uses in self._uses.values():
            terms = uses[0].transfer
            if terms.reverses_transfer_id is not None:
                reversed_by[terms.reverses_transfer_id] += terms.amount
        unknown = {
            transfer.reverses_transfer_id
            for transfer in self._transfers.values()
            if transfer.id in self._referenced and transfer.id not in self._uses
        }
        findings = []
        for transfer in self._transfers.values():
            stored, sealed = transfer.reversed_amount, reversed_by.get(transfer.id, 0)
            if stored != sealed and transfer.id not in unknown:
                findings.append(_transfer(transfer, "reversed_amount", stored, sealed))
        return findings


def transfer_findings(transfer: TransferRow, uses: Sequence[EntryFact]) -> list[Finding]:
    """A transfer's row against its trusted entries: their kinds say what became of it."""
    kinds = {fact.kind for fact in uses}
    held = bool(kinds & {"hold", "hold_posted", "hold_voided", "hold_expired"})
    status = "posted"
    for kind, outcome in (
        ("hold_posted", "posted"),
        ("hold_voided", "voided"),
        ("hold_expired", "expired"),
    ):
        if kind in kinds:
            status = outcome
            break
    else:
        if held:
            status = "pending"
    posted = max((f.amount for f in uses if f.kind == "hold_posted"), default=None)
    findings = []
    for name, stored, sealed in (
        ("pending", transfer.pending, held),
        ("status", transfer.status, status),
        ("posted_amount", transfer.posted_amount, posted if status == "posted" and held else None),
    ):
        if stored != sealed:
            findings.append(_transfer(transfer, name, stored, sealed))
    return findings


def _transfer(transfer: TransferRow, name: str, stored: object, sealed: object) -> Finding:
    return Finding(
        kind="transfer_changed",
        subject="transfer",
        id=transfer.id,
        field=name,
        detail=f"{name} is {stored!r}; its sealed entries say {sealed!r}",
        data={"stored": stored, "sealed": sealed},
    )


def verify_ledger(
    ledger: str,
    *,
    accounts: Iterable[AccountRow],
    changes: Iterable[AccountChangeRow],
    entries: Iterable[EntryRow],
    transfers: Iterable[TransferRow],
    checkpoints: Sequence[StoredCheckpoint] = (),
    heads: Iterable[ChainHead] = (),
    public_keys: Mapping[str, str] | None = None,
    trusted: Sequence[bytes | Checkpoint] = (),
) -> EvidenceReport:
    """Every row of one ledger, in memory, verified at once."""
    changes_of: dict[str, list[AccountChangeRow]] = defaultdict(list)
    entries_of: dict[str, list[EntryRow]] = defaultdict(list)
    for change in changes:
        changes_of[change.account_id].append(change)
    for entry in entries:
        entries_of[entry.account_id].append(entry)
    head_of = {head.account_id: head for head in heads}
    verifier = LedgerVerifier(
        ledger,
        transfers={transfer.id: transfer for transfer in transfers},
        checkpoints=checkpoints,
        public_keys=public_keys,
        trusted=trusted,
    )
    for account in accounts:
        verifier.account(
            account, changes_of[account.id], entries_of[account.id], head=head_of.get(account.id)
        )
    return verifier.finish()
