"""Which field of a fact changed, when its seal says it did.

A seal is a hash: it cannot be read back. But most fields of a fact are also held
somewhere else (an entry's amount by its transfer, its balance by its neighbours, its
time by its transfer's timestamps, a flag by its one other value), so each of those
values is tried in place of the stored one, alone and in pairs: the substitution whose
link equals the seal names the field and gives the value that was sealed. A careful
forger changes every copy at once; then no substitution fits and the finding names the
fact without a field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from api.evidence.chain import link
from api.evidence.encoding import ENTRY_KINDS, AccountFact, EntryFact, Fact
from api.evidence.rows import AccountChangeRow, AccountRow, EntryRow, TransferRow


@dataclass(frozen=True)
class Change:
    field: str  # "amount", "transfer.amount", "terms.currency", ...
    sealed: object  # the value the seal holds
    stored: object  # the value stored now


@dataclass(frozen=True)
class EntryContext:
    """What else holds an entry's fields."""

    transfer: TransferRow
    account: AccountRow | None = None
    before: EntryRow | None = None  # the entry at sequence - 1
    after: EntryRow | None = None  # the entry at sequence + 1


@dataclass(frozen=True)
class AccountContext:
    account: AccountRow
    opened: AccountChangeRow | None = None
    first_currency: str | None = None  # the currency of the account's first entry


def explain(previous: bytes, seal: bytes, fact: Fact, candidates: Iterable[Change]) -> list[Change]:
    """The one or two changes that turn ``fact`` back into what was sealed; [] if none."""
    tried = [c for c in candidates if c.sealed != c.stored]
    for change in tried:
        if link(previous, _apply(fact, [change])) == seal:
            return [change]
    for first, second in combinations(tried, 2):
        if first.field != second.field and link(previous, _apply(fact, [first, second])) == seal:
            return [first, second]
    return []


def entry_candidates(fact: EntryFact, context: EntryContext) -> Iterator[Change]:
    transfer, before, after = context.transfer, context.before, context.after

    def offer(name: str, *values: object) -> Iterator[Change]:
        stored = _get(fact, name)
        for value in dict.fromkeys(v for v in values if v is not None):
            yield Change(name, value, stored)

    posted = transfer.posted_amount or 0
    yield from offer("amount", 0, transfer.amount, -transfer.amount, posted, -posted)
    yield from offer("pending_amount", 0, transfer.amount, -transfer.amount)
    yield from offer("kind", *ENTRY_KINDS)
    yield from offer("sequence", fact.sequence - 1, fact.sequence + 1)
    yield from offer(
        "posted_at_ns",
        transfer.created_at_ns,
        transfer.resolved_at_ns,
        before.posted_at_ns if before else None,
        after.posted_at_ns if after else None,
    )
    debited, credited = max(-fact.amount, 0), max(fact.amount, 0)
    if before is not None:
        yield from offer("balance_after", before.balance_after + fact.amount)
        if before.debits_after is not None and before.credits_after is not None:
            yield from offer("debits_after", before.debits_after + debited)
            yield from offer("credits_after", before.credits_after + credited)
    if after is not None:
        yield from offer("balance_after", after.balance_after - after.amount)
        if after.debits_after is not None and after.credits_after is not None:
            yield from offer("debits_after", after.debits_after - max(-after.amount, 0))
            yield from offer("credits_after", after.credits_after - max(after.amount, 0))
    terms = fact.transfer
    yield from offer("transfer.debit_account_id", terms.credit_account_id, fact.account_id)
    yield from offer("transfer.credit_account_id", terms.debit_account_id, fact.account_id)
    yield from offer("transfer.amount", abs(fact.amount), abs(fact.pending_amount), posted)
    if context.account is not None:
        yield from offer("transfer.currency", context.account.currency)
    if terms.reverses_transfer_id is not None:
        yield Change("transfer.reverses_transfer_id", None, terms.reverses_transfer_id)


def account_candidates(fact: AccountFact, context: AccountContext) -> Iterator[Change]:
    def offer(name: str, *values: object) -> Iterator[Change]:
        stored = _get(fact, name)
        for value in dict.fromkeys(values):
            yield Change(name, value, stored)

    if fact.terms is None:
        yield from offer("kind", "closed", "reopened")
        yield from offer("version", fact.version - 1, fact.version + 1)
        return
    terms = fact.terms
    for flag in ("debits_must_not_exceed_credits", "credits_must_not_exceed_debits"):
        yield from offer(f"terms.{flag}", not getattr(terms, flag))
    yield from offer("terms.lower_bound", None)
    yield from offer("terms.upper_bound", None)
    if context.first_currency is not None:
        yield from offer("terms.currency", context.first_currency)
    if context.opened is not None:
        yield from offer("at_ns", context.opened.at_ns)


def _get(fact: Fact, name: str) -> object:
    target: object = fact
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _apply(fact: Fact, changes: list[Change]) -> Fact:
    changed: Any = fact  # fields are named by strings: no type to check them against
    for change in changes:
        head, _, rest = change.field.partition(".")
        if rest:
            inner = dataclasses.replace(getattr(changed, head), **{rest: change.sealed})
            changed = dataclasses.replace(changed, **{head: inner})
        else:
            changed = dataclasses.replace(changed, **{head: change.sealed})
    result: Fact = changed
    return result
