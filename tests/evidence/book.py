"""A small ledger in memory that writes the rows the engine writes, and seals and
checkpoints them as the engine's sealer would (through api.evidence only): what the
evidence tests forge and verify, and what bench/evidence.py and the vectors use."""

from __future__ import annotations

import dataclasses
from typing import Any

from api.evidence.chain import ChainHead
from api.evidence.checkpoint import Checkpoint, make_checkpoint
from api.evidence.encoding import Fact
from api.evidence.findings import EvidenceReport
from api.evidence.rows import (
    AccountChangeRow,
    AccountRow,
    EntryRow,
    TransferRow,
    change_fact,
    entry_fact,
    opening_fact,
)
from api.evidence.sealer import seal_account
from api.evidence.signing import LocalSigner, Signer
from api.evidence.tree import MemoryNodeStore
from api.evidence.verify import StoredCheckpoint, verify_ledger

START_NS = 1_790_000_000_123_456_789  # 2026-09-21, with nanoseconds


class Book:
    def __init__(self, ledger: str = "default", signer: Signer | None = None) -> None:
        self.ledger = ledger
        self.signer = signer or LocalSigner.generate()
        self.now_ns = START_NS
        self.accounts: dict[str, AccountRow] = {}
        self.changes: dict[str, list[AccountChangeRow]] = {}
        self.entries: dict[str, list[EntryRow]] = {}
        self.transfers: dict[str, TransferRow] = {}
        self.heads: dict[str, ChainHead] = {}
        self.store = MemoryNodeStore()
        self.checkpoints: list[Checkpoint] = []

    def commit(self) -> int:
        """The next commit timestamp: ~1 ms later, nanoseconds kept."""
        self.now_ns += 1_000_007
        return self.now_ns

    # --- writes, one commit each -------------------------------------------------------

    def open(self, account_id: str, currency: str = "USD", **terms: Any) -> None:
        at = self.commit()
        self.accounts[account_id] = AccountRow(
            id=account_id,
            currency=currency,
            debits_must_not_exceed_credits=terms.get("debits_must_not_exceed_credits", False),
            credits_must_not_exceed_debits=terms.get("credits_must_not_exceed_debits", False),
            lower_bound=terms.get("lower_bound"),
            upper_bound=terms.get("upper_bound"),
            created_at_ns=at,
            closed=False,
            version=0,
            debits_posted=0,
            credits_posted=0,
            debits_pending=0,
            credits_pending=0,
            changes=1,
        )
        self.changes[account_id] = [
            AccountChangeRow(account_id=account_id, number=1, kind="opened", version=0, at_ns=at)
        ]
        self.entries[account_id] = []

    def close(self, account_id: str, *, closed: bool = True) -> None:
        at, account = self.commit(), self.accounts[account_id]
        changes = self.changes[account_id]
        changes.append(
            AccountChangeRow(
                account_id=account_id,
                number=len(changes) + 1,
                kind="closed" if closed else "reopened",
                version=account.version,
                at_ns=at,
            )
        )
        self.accounts[account_id] = dataclasses.replace(
            account, closed=closed, changes=len(changes)
        )

    def transfer(
        self, transfer_id: str, debit: str, credit: str, amount: int, *, reverses: str | None = None
    ) -> None:
        at = self.commit()
        self._new_transfer(transfer_id, debit, credit, amount, at, reverses=reverses)
        kind = "reversal" if reverses else "transfer"
        self._move(transfer_id, debit, credit, posted=amount, held=0, kind=kind, at=at)
        if reverses is not None:
            original = self.transfers[reverses]
            self.transfers[reverses] = dataclasses.replace(
                original, reversed_amount=original.reversed_amount + amount
            )

    def hold(self, transfer_id: str, debit: str, credit: str, amount: int) -> None:
        at = self.commit()
        self._new_transfer(transfer_id, debit, credit, amount, at, pending=True)
        self._move(transfer_id, debit, credit, posted=0, held=amount, kind="hold", at=at)

    def resolve(self, transfer_id: str, status: str, posted: int = 0) -> None:
        at, hold = self.commit(), self.transfers[transfer_id]
        kind = {"posted": "hold_posted", "voided": "hold_voided", "expired": "hold_expired"}
        self._move(
            transfer_id,
            hold.debit_account_id,
            hold.credit_account_id,
            posted=posted,
            held=-hold.amount,
            kind=kind[status],
            at=at,
        )
        self.transfers[transfer_id] = dataclasses.replace(
            hold,
            status=status,
            posted_amount=posted if status == "posted" else None,
            resolved_at_ns=at,
        )

    def _new_transfer(
        self,
        transfer_id: str,
        debit: str,
        credit: str,
        amount: int,
        at: int,
        *,
        pending: bool = False,
        reverses: str | None = None,
    ) -> None:
        self.transfers[transfer_id] = TransferRow(
            id=transfer_id,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            currency=self.accounts[debit].currency,
            pending=pending,
            status="pending" if pending else "posted",
            posted_amount=None,
            reversed_amount=0,
            reverses_transfer_id=reverses,
            created_at_ns=at,
        )

    def _move(
        self,
        transfer_id: str,
        debit: str,
        credit: str,
        *,
        posted: int,
        held: int,
        kind: str,
        at: int,
    ) -> None:
        """``posted`` moves; ``held`` is reserved (negative: released)."""
        for account_id, sign in ((debit, -1), (credit, 1)):
            account = self.accounts[account_id]
            debits = account.debits_posted + (posted if sign < 0 else 0)
            credits = account.credits_posted + (posted if sign > 0 else 0)
            account = dataclasses.replace(
                account,
                version=account.version + 1,
                debits_posted=debits,
                credits_posted=credits,
                debits_pending=account.debits_pending + (held if sign < 0 else 0),
                credits_pending=account.credits_pending + (held if sign > 0 else 0),
            )
            self.accounts[account_id] = account
            self.entries[account_id].append(
                EntryRow(
                    account_id=account_id,
                    sequence=account.version,
                    transfer_id=transfer_id,
                    kind=kind,
                    amount=sign * posted,
                    pending_amount=sign * held,
                    balance_after=credits - debits,
                    debits_after=debits,
                    credits_after=credits,
                    posted_at_ns=at,
                )
            )

    # --- sealing and checkpoints -------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """Seal every account's new facts, then checkpoint them (one sealer round)."""
        snapshot = self.commit()
        changed = []
        for account_id, account in self.accounts.items():
            head = self.heads.get(account_id)
            sealing = seal_account(
                self.ledger,
                account,
                head,
                changes=self.changes[account_id],
                entries=self.entries[account_id],
                transfers=self.transfers,
            )
            if not sealing.seals:
                continue
            seals = dict(sealing.seals)
            self.changes[account_id] = [
                _sealed(row, seals.get((row.version, row.number)))
                for row in self.changes[account_id]
            ]
            self.entries[account_id] = [
                _sealed(row, seals.get((row.sequence, 0))) for row in self.entries[account_id]
            ]
            self.heads[account_id] = sealing.head
            changed.append(sealing.head)
        previous = self.checkpoints[-1].statement if self.checkpoints else None
        checkpoint, _ = make_checkpoint(
            self.store,
            self.signer,
            ledger=self.ledger,
            previous=previous,
            snapshot_at_ns=snapshot,
            heads=changed,
        )
        self.checkpoints.append(checkpoint)
        return checkpoint

    def facts(self, account_id: str) -> list[Fact]:
        """The account's facts as its rows give them now."""
        facts: list[Fact] = [opening_fact(self.ledger, self.accounts[account_id])]
        facts += [change_fact(self.ledger, c) for c in self.changes[account_id] if c.number > 1]
        facts += [
            entry_fact(self.ledger, e, self.transfers[e.transfer_id])
            for e in self.entries[account_id]
        ]
        return facts

    def stored(self, *, leaves: bool = True) -> list[StoredCheckpoint]:
        return [
            StoredCheckpoint(
                checkpoint=c,
                digest=c.digest,
                leaves=self.store.read_leaves(self.ledger, version=c.statement.number)
                if leaves
                else None,
            )
            for c in self.checkpoints
        ]

    def verify(self, **options: Any) -> EvidenceReport:
        options.setdefault("checkpoints", self.stored())
        options.setdefault("public_keys", {self.signer.key_name: self.signer.public_key_pem()})
        return verify_ledger(
            self.ledger,
            accounts=self.accounts.values(),
            changes=[row for rows in self.changes.values() for row in rows],
            entries=[row for rows in self.entries.values() for row in rows],
            transfers=self.transfers.values(),
            heads=self.heads.values(),
            **options,
        )

    # --- forging, as someone with write access to the database would ------------------

    def forge_entry(self, account_id: str, sequence: int, **fields: Any) -> None:
        self.entries[account_id] = [
            dataclasses.replace(e, **fields) if e.sequence == sequence else e
            for e in self.entries[account_id]
        ]

    def forge_transfer(self, transfer_id: str, **fields: Any) -> None:
        self.transfers[transfer_id] = dataclasses.replace(self.transfers[transfer_id], **fields)

    def forge_account(self, account_id: str, **fields: Any) -> None:
        self.accounts[account_id] = dataclasses.replace(self.accounts[account_id], **fields)


def _sealed(row: Any, seal: bytes | None) -> Any:
    return row if seal is None else dataclasses.replace(row, seal=seal)
