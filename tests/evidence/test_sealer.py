"""The sealer's step: it seals what came after a head, in order, and refuses to seal
around a hole or an entry whose totals are not filled in (a later fill would change a
sealed fact)."""

from __future__ import annotations

import dataclasses

import pytest

from api.evidence.chain import ChainHead, ChainOrderError
from api.evidence.encoding import EncodingError
from api.evidence.sealer import seal_account
from tests.evidence.book import Book


@pytest.fixture
def book() -> Book:
    book = Book()
    book.open("bank")
    book.open("alice")
    book.transfer("t-1", "bank", "alice", 100)
    return book


def seal(book: Book, account_id: str, head: ChainHead | None = None):
    return seal_account(book.ledger, book.accounts[account_id], head,
                        changes=book.changes[account_id], entries=book.entries[account_id],
                        transfers=book.transfers)  # fmt: skip


def test_a_new_chain_starts_with_the_opening(book):
    sealing = seal(book, "alice")
    assert [position for position, _ in sealing.seals] == [(0, 1), (1, 0)]
    assert (sealing.head.length, sealing.head.position) == (2, (1, 0))


def test_sealing_goes_on_from_the_head_and_skips_what_it_sealed(book):
    first = seal(book, "alice")
    book.close("alice")
    book.transfer("t-2", "bank", "alice", 5)
    second = seal(book, "alice", first.head)
    assert [position for position, _ in second.seals] == [(1, 2), (2, 0)]
    assert second.head == seal(book, "alice").head  # the same as sealing it all at once


def test_nothing_new_seals_nothing(book):
    head = seal(book, "alice").head
    assert seal(book, "alice", head).seals == []


def test_a_hole_in_the_entries_is_refused(book):
    book.transfer("t-2", "bank", "alice", 5)
    book.transfer("t-3", "bank", "alice", 5)
    book.entries["alice"] = [e for e in book.entries["alice"] if e.sequence != 2]
    with pytest.raises(ChainOrderError, match="contiguous"):
        seal(book, "alice")


def test_a_hole_in_the_changes_is_refused(book):
    book.close("alice")
    book.close("alice", closed=False)
    book.changes["alice"] = [c for c in book.changes["alice"] if c.number != 2]
    with pytest.raises(ChainOrderError, match="changes"):
        seal(book, "alice")


def test_an_entry_without_its_totals_is_not_sealed(book):
    book.entries["alice"] = [
        dataclasses.replace(e, debits_after=None, credits_after=None) for e in book.entries["alice"]
    ]
    with pytest.raises(EncodingError, match="backfill"):
        seal(book, "alice")
