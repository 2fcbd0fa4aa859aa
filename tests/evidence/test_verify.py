"""Verification of a whole ledger from its rows: each way of rewriting history, from the
careless to the careful, is named (account, sequence, field where the evidence shows it)."""

from __future__ import annotations

import dataclasses

import pytest

from api.audit.checks import AccountCheck as AuditCheck
from api.audit.checks import AuditAccount, AuditEntry, CurrencyTotals
from api.evidence.checkpoint import Checkpoint, CheckpointStatement
from api.evidence.rows import EntryRow
from api.evidence.sealer import seal_account
from api.evidence.signing import LocalSigner
from api.evidence.tree import Leaf
from api.evidence.verify import StoredCheckpoint
from tests.evidence.book import Book


@pytest.fixture
def book() -> Book:
    book = Book()
    book.open("bank")
    book.open("alice", debits_must_not_exceed_credits=True)
    book.open("shop", lower_bound=-500)
    book.transfer("t-1", "bank", "alice", 10_000)  # alice 1, bank 1
    book.hold("auth-1", "alice", "shop", 5_000)  # alice 2, shop 1
    book.transfer("t-2", "bank", "shop", 700)  # bank 2, shop 2
    book.checkpoint()
    book.resolve("auth-1", "posted", 4_200)  # alice 3, shop 3
    book.transfer("refund-1", "shop", "alice", 1_000, reverses="auth-1")  # shop 4, alice 4
    book.hold("auth-2", "alice", "shop", 300)  # alice 5, shop 5
    book.resolve("auth-2", "voided")  # alice 6, shop 6
    book.close("shop")
    book.close("shop", closed=False)
    book.transfer("t-3", "bank", "alice", 50)  # bank 3, alice 7
    book.checkpoint()
    book.transfer("t-4", "bank", "alice", 1)  # after the last checkpoint: not sealed yet
    return book


def named(report, kind=None):
    return {
        (f.kind, f.id, f.sequence, f.field)
        for f in report.findings
        if kind is None or f.kind == kind
    }


def test_an_untouched_ledger_verifies(book):
    report = book.verify()
    assert report.whole, report.findings
    assert report.counts == {"accounts": 3, "entries": 18, "unsealed facts": 2, "checkpoints": 2}


def today_audit_findings(book: Book) -> list:
    """What `python -m api.audit` checks, on the same rows."""
    findings, currencies = [], CurrencyTotals()
    for account in book.accounts.values():
        audited = AuditAccount(0, account.id, account.currency, account.debits_posted,
                               account.credits_posted, account.debits_pending,
                               account.credits_pending, account.version)  # fmt: skip
        check = AuditCheck(audited)
        for e in book.entries[account.id]:
            totals = (e.debits_after, e.credits_after)
            check.feed(AuditEntry(e.sequence, e.amount, e.balance_after, e.pending_amount, totals))
        findings += check.finish()
        currencies.add(audited)
    return findings + currencies.findings()


def reprice(book: Book, transfer_id: str, amount: int) -> None:
    """The careful forgery: a transfer's amount, both its entries, every running balance
    and total after them, and both accounts' totals, all changed together."""
    transfer = book.transfers[transfer_id]
    delta = amount - transfer.amount
    book.forge_transfer(transfer_id, amount=amount)
    for account_id, sign in ((transfer.debit_account_id, -1), (transfer.credit_account_id, 1)):
        debits, credits = (delta, 0) if sign < 0 else (0, delta)
        shifted = False
        for entry in list(book.entries[account_id]):
            shifted = shifted or entry.transfer_id == transfer_id
            if not shifted:
                continue
            book.forge_entry(
                account_id, entry.sequence,
                amount=entry.amount + (sign * delta if entry.transfer_id == transfer_id else 0),
                balance_after=entry.balance_after + credits - debits,
                debits_after=entry.debits_after + debits,
                credits_after=entry.credits_after + credits,
            )  # fmt: skip
        account = book.accounts[account_id]
        book.forge_account(account_id, debits_posted=account.debits_posted + debits,
                           credits_posted=account.credits_posted + credits)  # fmt: skip


def test_the_careful_forgery_passes_todays_audit_and_is_named_here(book):
    reprice(book, "t-1", 12_000)
    assert today_audit_findings(book) == []
    report = book.verify()
    changed = named(report, "entry_changed")
    # The two legs of t-1, and every later entry whose balance moved with them.
    assert {("entry_changed", "bank", 1, None), ("entry_changed", "alice", 1, None)} <= changed
    assert {(account, sequence) for _, account, sequence, _ in changed} == {
        ("bank", 1), ("bank", 2), ("bank", 3),
        *[("alice", n) for n in range(1, 8)],
    }  # fmt: skip
    assert ("history_changed", "bank", None, None) in named(report)


def test_an_amount_is_named_with_what_was_sealed(book):
    book.forge_entry("alice", 3, amount=5_000)
    [finding] = [f for f in book.verify().findings if f.kind == "entry_changed"]
    assert (finding.id, finding.sequence, finding.field) == ("alice", 3, "amount")
    assert finding.data == {"stored": 5_000, "sealed": -4_200}


def test_a_timestamp_is_named(book):
    entry = book.entries["shop"][1]
    book.forge_entry("shop", 2, posted_at_ns=entry.posted_at_ns - 86_400 * 10**9)
    assert ("entry_changed", "shop", 2, "posted_at_ns") in named(book.verify())


def test_a_deleted_entry_is_named(book):
    book.entries["alice"] = [e for e in book.entries["alice"] if e.sequence != 4]
    report = book.verify()
    assert ("entry_deleted", "alice", 4, None) in named(report)
    assert not named(report, "entry_changed")  # the entry after the hole is not blamed


def test_entries_deleted_from_the_end_with_the_version_are_named(book):
    book.entries["alice"] = book.entries["alice"][:5]
    last = book.entries["alice"][-1]
    book.forge_account("alice", version=5, debits_posted=last.debits_after,
                       credits_posted=last.credits_after)  # fmt: skip
    report = book.verify()
    assert {("entry_deleted", "alice", n, None) for n in (6, 7)} <= named(report)
    assert ("history_changed", "alice", None, None) in named(report)


def test_an_entry_inserted_before_the_checkpoint_is_named(book):
    last = book.entries["bank"][-1]
    before = book.checkpoints[-1].statement.snapshot_at_ns
    backdated = dataclasses.replace(last, sequence=5, seal=None, posted_at_ns=before)
    book.entries["bank"].append(backdated)
    book.forge_account("bank", version=5)
    assert ("entry_inserted", "bank", 5, None) in named(book.verify())


def test_an_entry_slipped_into_the_middle_is_named_and_the_shift_shows(book):
    entries = book.entries["alice"]
    slipped = dataclasses.replace(entries[1], seal=None)
    renumbered = [
        dataclasses.replace(e, sequence=n)
        for n, e in enumerate([*entries[:2], slipped, *entries[2:]], start=1)
    ]
    book.entries["alice"] = renumbered
    book.forge_account("alice", version=len(renumbered))
    found = named(book.verify())
    assert ("entry_inserted", "alice", 3, None) in found
    assert ("entry_changed", "alice", 4, "sequence") in found


def test_a_changed_account_flag_is_named(book):
    book.forge_account("alice", debits_must_not_exceed_credits=False)
    assert ("account_changed", "alice", None, "terms.debits_must_not_exceed_credits") in named(
        book.verify()
    )


def test_a_changed_transfer_term_is_named_on_the_transfer(book):
    book.forge_transfer("t-2", credit_account_id="alice")
    found = named(book.verify(), "transfer_changed")
    assert ("transfer_changed", "t-2", None, "credit_account_id") in found


def test_a_changed_transfer_status_is_named(book):
    book.forge_transfer("auth-2", status="posted", posted_amount=300)
    found = named(book.verify(), "transfer_changed")
    assert {("transfer_changed", "auth-2", None, "status"),
            ("transfer_changed", "auth-2", None, "posted_amount")} <= found  # fmt: skip


def test_a_changed_reversed_amount_is_named(book):
    book.forge_transfer("auth-1", reversed_amount=0)
    assert ("transfer_changed", "auth-1", None, "reversed_amount") in named(book.verify())


def test_a_deleted_transfer_is_named(book):
    del book.transfers["t-2"]
    assert ("transfer_deleted", "t-2", None, None) in named(book.verify())


def test_an_inserted_transfer_is_named(book):
    book.transfers["ghost"] = dataclasses.replace(book.transfers["t-2"], id="ghost")
    assert ("transfer_inserted", "ghost", None, None) in named(book.verify())


def test_a_deleted_close_and_a_flipped_closed_flag_are_named(book):
    book.changes["shop"] = [c for c in book.changes["shop"] if c.number != 3]
    book.forge_account("shop", closed=True)
    found = named(book.verify(), "account_changed")
    assert ("account_changed", "shop", None, "changes") in found


def test_a_deleted_reopen_is_named_and_the_entry_after_it_is_not_blamed(book):
    book.close("alice")
    book.close("alice", closed=False)
    book.transfer("t-5", "bank", "alice", 2)
    book.checkpoint()
    book.changes["alice"] = [c for c in book.changes["alice"] if c.kind != "reopened"]
    book.forge_account("alice", closed=True)
    report = book.verify()
    assert ("account_changed", "alice", None, "changes") in named(report)
    assert not named(report, "entry_changed")


def test_a_chain_rewritten_with_its_seals_is_caught_by_the_checkpoint(book):
    """A forger who recomputes every seal (SHA-256 needs no key) leaves each fact
    matching its seal; the signed checkpoint still holds the old head."""
    book.forge_entry("alice", 1, posted_at_ns=book.entries["alice"][0].posted_at_ns + 5)
    reseal(book, "alice")
    report = book.verify()
    assert not named(report, "entry_changed")
    [finding] = [f for f in report.findings if f.kind == "history_changed"]
    assert finding.id == "alice"
    assert "the opening .. entry 7" in finding.detail  # since no checkpoint agreed


def test_with_an_older_trusted_checkpoint_the_change_is_narrowed(book):
    book.forge_entry("alice", 5, posted_at_ns=book.entries["alice"][4].posted_at_ns + 5)
    reseal(book, "alice")
    report = book.verify(trusted=[book.checkpoints[0].digest])
    [finding] = [f for f in report.findings if f.kind == "history_changed"]
    # Checkpoint 1 still agrees (alice had her opening and two entries then).
    assert "entry 3 .. entry 7" in finding.detail


def reseal(book: Book, account_id: str) -> None:
    sealing = seal_account(book.ledger, book.accounts[account_id], None,
                           changes=book.changes[account_id], entries=book.entries[account_id],
                           transfers=book.transfers)  # fmt: skip
    seals = dict(sealing.seals)
    book.entries[account_id] = [
        dataclasses.replace(e, seal=seals[(e.sequence, 0)]) for e in book.entries[account_id]
    ]
    book.changes[account_id] = [
        dataclasses.replace(c, seal=seals[(c.version, c.number)]) for c in book.changes[account_id]
    ]
    book.heads[account_id] = sealing.head


def test_a_deleted_account_is_named(book):
    book.open("idle")
    book.checkpoint()
    for rows in (book.accounts, book.changes, book.entries, book.heads):
        del rows["idle"]
    assert ("account_deleted", "idle", None, None) in named(book.verify())


def test_a_backdated_account_is_named(book):
    book.open("ghost")
    book.accounts["ghost"] = dataclasses.replace(
        book.accounts["ghost"], created_at_ns=book.checkpoints[0].statement.snapshot_at_ns - 1
    )
    reseal(book, "ghost")
    assert ("account_inserted", "ghost", None, None) in named(book.verify())


def test_without_the_tree_the_rows_are_checked_against_the_root(book):
    book.forge_entry("alice", 1, posted_at_ns=book.entries["alice"][0].posted_at_ns + 5)
    reseal(book, "alice")
    report = book.verify(checkpoints=book.stored(leaves=False))
    assert ("history_changed", "2", None, None) in named(report)


def test_a_tampered_tree_is_named_and_the_rows_still_checked(book):
    stored = book.stored()
    leaves = dict(stored[-1].leaves or {})
    leaves["alice"] = dataclasses.replace(leaves["alice"], length=1)
    stored[-1] = dataclasses.replace(stored[-1], leaves=leaves)
    report = book.verify(checkpoints=stored)
    assert ("checkpoint_changed", "2", None, None) in named(report)
    assert not named(report, "history_changed")  # the rows are intact


def test_a_changed_checkpoint_row_is_named(book):
    stored = book.stored()
    statement = dataclasses.replace(stored[0].checkpoint.statement, accounts=99)
    stored[0] = dataclasses.replace(
        stored[0], checkpoint=dataclasses.replace(stored[0].checkpoint, statement=statement)
    )
    found = named(book.verify(checkpoints=stored))
    assert ("checkpoint_changed", "1", None, None) in found
    assert ("checkpoint_signature", "1", None, None) in found


def test_a_checkpoint_signed_by_another_key_is_named(book):
    stored = book.stored()
    forger = LocalSigner.generate()
    checkpoint = stored[1].checkpoint
    stored[1] = dataclasses.replace(stored[1], checkpoint=dataclasses.replace(
        checkpoint, signature=forger.sign_digest(checkpoint.digest)))  # fmt: skip
    assert ("checkpoint_signature", "2", None, None) in named(book.verify(checkpoints=stored))


def test_a_deleted_checkpoint_is_named(book):
    book.checkpoint()
    stored = book.stored()
    del stored[1]
    assert ("checkpoint_deleted", "2", None, None) in named(book.verify(checkpoints=stored))


def test_a_trusted_digest_no_row_has_is_named(book):
    report = book.verify(trusted=[bytes(32)])
    assert ("checkpoint_missing", "00" * 32, None, None) in named(report)


def test_a_published_checkpoint_outlives_its_row(book):
    """The event's document is enough to compare with, even once the row is gone."""
    published = Checkpoint.from_document(book.checkpoints[0].document())
    book.forge_entry("alice", 1, posted_at_ns=book.entries["alice"][0].posted_at_ns + 5)
    reseal(book, "alice")
    stored = book.stored()[1:]
    report = book.verify(checkpoints=stored, trusted=[published])
    assert ("checkpoint_deleted", "1", None, None) in named(report)


def test_a_head_row_that_disagrees_is_named(book):
    head = book.heads["bank"]
    book.heads["bank"] = dataclasses.replace(head, head=bytes(32))
    assert ("head_changed", "bank", None, None) in named(book.verify())


def test_emptied_totals_on_a_sealed_entry_are_named(book):
    book.forge_entry("bank", 2, debits_after=None, credits_after=None)
    assert ("entry_changed", "bank", 2, "debits_after") in named(book.verify())


def test_unused_types_stay_importable():
    # The verifier's inputs are plain data the lead fills from Spanner rows.
    assert {f.name for f in dataclasses.fields(EntryRow)} >= {"seal", "posted_at_ns"}
    assert {f.name for f in dataclasses.fields(StoredCheckpoint)} == {
        "checkpoint",
        "digest",
        "leaves",
    }
    assert CheckpointStatement and Leaf


def test_a_changed_reversal_does_not_also_blame_what_it_reverses(book):
    book.forge_entry("alice", 4, amount=999)  # both legs of refund-1
    book.forge_entry("shop", 4, amount=-999)
    found = named(book.verify())
    assert ("entry_changed", "alice", 4, "amount") in found
    assert not {f for f in found if f[0] == "transfer_changed" and f[1] == "auth-1"}
