"""Any ledger, sealed and checkpointed, verifies whole; any one forgery of a sealed row
is found and names the row it touched."""

from __future__ import annotations

import dataclasses

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from api.evidence.encoding import ENTRY_KINDS
from tests.evidence.book import Book
from tests.evidence.strategies import ACCOUNTS, books


@settings(max_examples=60, deadline=None)
@given(books())
def test_an_untouched_ledger_always_verifies(book):
    report = book.verify()
    assert report.whole, report.findings


ENTRY_FIELDS = ["amount", "pending_amount", "balance_after", "debits_after", "credits_after",
                "posted_at_ns", "kind", "transfer_id"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(books(), st.data())
def test_any_forged_entry_field_is_found_on_that_entry(book, data):
    account = data.draw(st.sampled_from([a for a in ACCOUNTS if book.entries[a]]))
    entry = data.draw(st.sampled_from(book.entries[account]))
    name = data.draw(st.sampled_from(ENTRY_FIELDS))
    current = getattr(entry, name)
    if name == "kind":
        value = data.draw(st.sampled_from([k for k in ENTRY_KINDS if k != current]))
    elif name == "transfer_id":
        others = [t for t in book.transfers if t != current]
        assume(others)
        value = data.draw(st.sampled_from(others))
    else:
        value = current + data.draw(st.integers(1, 10**6) | st.integers(-(10**6), -1))
    book.forge_entry(account, entry.sequence, **{name: value})
    found = {(f.kind, f.id, f.sequence) for f in book.verify().findings}
    assert ("entry_changed", account, entry.sequence) in found


@settings(max_examples=100, deadline=None)
@given(books(), st.data())
def test_any_deleted_entry_is_found(book, data):
    account = data.draw(st.sampled_from([a for a in ACCOUNTS if book.entries[a]]))
    entry = data.draw(st.sampled_from(book.entries[account]))
    book.entries[account].remove(entry)
    found = {(f.kind, f.id, f.sequence) for f in book.verify().findings}
    assert ("entry_deleted", account, entry.sequence) in found


TERMS = {"debit_account_id": ACCOUNTS, "credit_account_id": ACCOUNTS, "currency": ["EUR"]}


@settings(max_examples=100, deadline=None)
@given(books(), st.data())
def test_any_forged_transfer_term_is_found(book, data):
    transfer = data.draw(st.sampled_from(sorted(book.transfers)))
    name = data.draw(st.sampled_from([*TERMS, "amount"]))
    current = getattr(book.transfers[transfer], name)
    choices = TERMS.get(name) or [current + 1, current * 2]
    value = data.draw(st.sampled_from([c for c in choices if c != current]))
    book.forge_transfer(transfer, **{name: value})
    report = book.verify()
    legs = {(e.account_id, e.sequence) for rows in book.entries.values() for e in rows
            if e.transfer_id == transfer}  # fmt: skip
    named = {(f.id, f.sequence) for f in report.findings} | {
        (f.id, None) for f in report.findings if f.subject == "transfer"
    }
    assert (transfer, None) in named or legs & named


@settings(max_examples=60, deadline=None)
@given(books(), st.sampled_from(ACCOUNTS), st.sampled_from(
    ["debits_must_not_exceed_credits", "credits_must_not_exceed_debits"]))  # fmt: skip
def test_any_flipped_account_flag_is_found(book, account, flag):
    book.forge_account(account, **{flag: not getattr(book.accounts[account], flag)})
    found = {(f.kind, f.id, f.field) for f in book.verify().findings}
    assert ("account_changed", account, f"terms.{flag}") in found


def test_books_are_built_as_the_engine_would():
    book = Book()
    book.open("a")
    book.open("b")
    book.transfer("t", "a", "b", 5)
    assert dataclasses.asdict(book.accounts["b"])["credits_posted"] == 5
