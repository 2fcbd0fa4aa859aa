"""Hypothesis strategies for facts and for whole ledgers, and a decoder of the encoding
written from the spec (so the tests can show the bytes hold every field, unambiguously)."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

from hypothesis import strategies as st

from api.evidence.encoding import (
    ENTRY_KINDS,
    INT64_MAX,
    INT64_MIN,
    NANOS,
    AccountFact,
    AccountTerms,
    EntryFact,
    Fact,
    TransferTerms,
)
from tests.evidence.book import Book

int64 = st.integers(INT64_MIN, INT64_MAX)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
# Spanner's TIMESTAMP range: 0001-01-01 to 9999-12-31, to the nanosecond.
instants = st.integers(-62_135_596_800 * NANOS, 253_402_300_800 * NANOS - 1)

transfer_terms = st.builds(
    TransferTerms,
    debit_account_id=texts,
    credit_account_id=texts,
    amount=int64,
    currency=texts,
    reverses_transfer_id=st.none() | texts,
)
entry_facts = st.builds(
    EntryFact,
    ledger=texts,
    account_id=texts,
    sequence=int64,
    transfer_id=texts,
    kind=st.sampled_from(ENTRY_KINDS),
    amount=int64,
    pending_amount=int64,
    balance_after=int64,
    debits_after=int64,
    credits_after=int64,
    posted_at_ns=instants,
    transfer=transfer_terms,
)
account_terms = st.builds(
    AccountTerms,
    currency=texts,
    debits_must_not_exceed_credits=st.booleans(),
    credits_must_not_exceed_debits=st.booleans(),
    lower_bound=st.none() | int64,
    upper_bound=st.none() | int64,
)


@st.composite
def account_facts(draw: st.DrawFn) -> AccountFact:
    kind = draw(st.sampled_from(["opened", "closed", "reopened"]))
    return AccountFact(
        ledger=draw(texts),
        account_id=draw(texts),
        kind=kind,
        number=draw(int64),
        version=draw(int64),
        at_ns=draw(instants),
        terms=draw(account_terms) if kind == "opened" else None,
    )


facts = entry_facts | account_facts()


def fields_of(fact: Fact) -> list[str]:
    """Every sealed field of a fact, nested ones as "transfer.amount"."""
    names = []
    for item in dataclasses.fields(fact):
        value = getattr(fact, item.name)
        if dataclasses.is_dataclass(value):
            names += [f"{item.name}.{inner.name}" for inner in dataclasses.fields(value)]
        elif item.name != "terms":
            names.append(item.name)
    return names


def value_of(fact: Fact, name: str) -> Any:
    current: Any = fact
    for part in name.split("."):
        current = getattr(current, part)
    return current


def other_value(draw: st.DrawFn, fact: Fact, name: str) -> Any:
    """A value for field ``name`` of ``fact`` other than the one it has (an opening's
    kind has none: it stays)."""
    current = value_of(fact, name)
    if name in ("kind",) and isinstance(fact, EntryFact):
        choices = st.sampled_from(ENTRY_KINDS)
    elif name == "kind":  # an opening's kind is tied to its terms: only these two swap
        return {"closed": "reopened", "reopened": "closed"}.get(str(current), current)
    elif isinstance(current, bool):
        return not current
    elif name.endswith(("_bound", "reverses_transfer_id")):
        choices = st.none() | (texts if name.endswith("transfer_id") else int64)
    elif name.endswith("_ns"):
        choices = instants
    elif isinstance(current, int):
        choices = int64
    else:
        choices = texts
    return draw(choices.filter(lambda value: value != current))


def replace(fact: Fact, name: str, value: Any) -> Fact:
    head, _, rest = name.partition(".")
    if rest:
        value = dataclasses.replace(getattr(fact, head), **{rest: value})
    changed: Any = dataclasses.replace(fact, **{head: value})
    return changed  # type: ignore[no-any-return]


# --- a decoder, from the spec ---------------------------------------------------------


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        assert len(chunk) == size, "ran past the end"
        self.at += size
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def i64(self) -> int:
        return int(struct.unpack(">q", self.take(8))[0])

    def text(self) -> str:
        (size,) = struct.unpack(">I", self.take(4))
        return self.take(size).decode("utf-8")

    def optional(self, read: Any) -> Any:
        present = self.u8()
        assert present in (0, 1)
        return read() if present else None

    def instant(self) -> int:
        seconds = self.i64()
        (nanos,) = struct.unpack(">I", self.take(4))
        assert nanos < NANOS
        return seconds * NANOS + nanos

    def boolean(self) -> bool:
        value = self.u8()
        assert value in (0, 1)
        return value == 1


def decode_fact(data: bytes) -> Fact:
    read = Reader(data)
    assert read.u8() == 1, "format 1"
    fact_type = read.u8()
    ledger, account_id = read.text(), read.text()
    fact: Fact
    if fact_type == 1:
        fact = EntryFact(
            ledger=ledger, account_id=account_id, sequence=read.i64(), transfer_id=read.text(),
            kind=read.text(), amount=read.i64(), pending_amount=read.i64(),
            balance_after=read.i64(), debits_after=read.i64(), credits_after=read.i64(),
            posted_at_ns=read.instant(),
            transfer=TransferTerms(
                debit_account_id=read.text(), credit_account_id=read.text(), amount=read.i64(),
                currency=read.text(), reverses_transfer_id=read.optional(read.text),
            ),
        )  # fmt: skip
    else:
        kind = {2: "opened", 3: "closed", 4: "reopened"}[fact_type]
        number, version, at_ns = read.i64(), read.i64(), read.instant()
        terms = None
        if kind == "opened":
            terms = AccountTerms(
                currency=read.text(), debits_must_not_exceed_credits=read.boolean(),
                credits_must_not_exceed_debits=read.boolean(),
                lower_bound=read.optional(read.i64), upper_bound=read.optional(read.i64),
            )  # fmt: skip
        fact = AccountFact(
            ledger=ledger, account_id=account_id, kind=kind,  # type: ignore[arg-type]
            number=number, version=version, at_ns=at_ns, terms=terms,
        )  # fmt: skip
    assert read.at == len(data), "bytes left over"
    return fact


# --- whole ledgers ---------------------------------------------------------------------

ACCOUNTS = ["a", "b", "c", "d"]


@st.composite
def books(draw: st.DrawFn) -> Book:
    book = Book()
    for account in ACCOUNTS:
        book.open(account)
    book.transfer("t-first", "a", "b", 100)
    holds: list[str] = []
    for n in range(draw(st.integers(1, 25))):
        debit, credit = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2,
                                      unique=True))  # fmt: skip
        amount = draw(st.integers(1, 10_000))
        action = draw(st.sampled_from(["transfer", "hold", "resolve", "reverse", "close", "cut"]))
        if action == "hold":
            book.hold(f"h{n}", debit, credit, amount)
            holds.append(f"h{n}")
        elif action == "resolve" and holds:
            hold = holds.pop(draw(st.integers(0, len(holds) - 1)))
            status = draw(st.sampled_from(["posted", "voided", "expired"]))
            posted = draw(st.integers(0, book.transfers[hold].amount)) if status == "posted" else 0
            book.resolve(hold, status, posted)
        elif action == "reverse" and any(t.status == "posted" for t in book.transfers.values()):
            original = draw(st.sampled_from(
                sorted(t.id for t in book.transfers.values() if t.status == "posted")))  # fmt: skip
            moved = book.transfers[original]
            book.transfer(f"r{n}", moved.credit_account_id, moved.debit_account_id, 1,
                          reverses=original)  # fmt: skip
        elif action == "close":
            book.close(debit, closed=not book.accounts[debit].closed)
        elif action == "cut":
            book.checkpoint()
        else:
            book.transfer(f"t{n}", debit, credit, amount)
    book.checkpoint()
    return book
