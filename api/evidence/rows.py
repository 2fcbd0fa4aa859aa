"""The stored rows that sealing and verification read, as plain data, and the facts
they make. The engine's sealer and ``python -m api.audit --verify`` read the same rows
(from one snapshot) into these types; nothing here knows Spanner.

A fact is built from its row and, for an entry, its transfer's row: so a change to
either shows as a fact that no longer matches its seal.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.evidence.encoding import (
    ACCOUNT_CHANGE_KINDS,
    AccountFact,
    AccountTerms,
    EncodingError,
    EntryFact,
    TransferTerms,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountRow:
    id: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    lower_bound: int | None
    upper_bound: int | None
    created_at_ns: int
    closed: bool
    version: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    changes: int | None = None  # how many changes it has had, when the engine counts them


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountChangeRow:
    """One row of the account's changes: ``opened`` (number 1), then each ``closed`` and
    ``reopened``, with the account's entry count (``version``) when it happened."""

    account_id: str
    number: int
    kind: str
    version: int
    at_ns: int
    seal: bytes | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EntryRow:
    account_id: str
    sequence: int
    transfer_id: str
    kind: str
    amount: int
    pending_amount: int
    balance_after: int
    debits_after: int | None
    credits_after: int | None
    posted_at_ns: int
    seal: bytes | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferRow:
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    pending: bool
    status: str
    posted_amount: int | None
    reversed_amount: int
    reverses_transfer_id: str | None
    created_at_ns: int | None = None
    resolved_at_ns: int | None = None


def opening_fact(ledger: str, account: AccountRow) -> AccountFact:
    return AccountFact(
        ledger=ledger,
        account_id=account.id,
        kind="opened",
        number=1,
        version=0,
        at_ns=account.created_at_ns,
        terms=AccountTerms(
            currency=account.currency,
            debits_must_not_exceed_credits=account.debits_must_not_exceed_credits,
            credits_must_not_exceed_debits=account.credits_must_not_exceed_debits,
            lower_bound=account.lower_bound,
            upper_bound=account.upper_bound,
        ),
    )


def change_fact(ledger: str, change: AccountChangeRow) -> AccountFact:
    """A close or reopen (the opening is ``opening_fact``, from the account's row)."""
    if change.kind not in ACCOUNT_CHANGE_KINDS or change.kind == "opened":
        raise EncodingError(f"change {change.number} of {change.account_id} is {change.kind!r}")
    return AccountFact(
        ledger=ledger,
        account_id=change.account_id,
        kind="closed" if change.kind == "closed" else "reopened",
        number=change.number,
        version=change.version,
        at_ns=change.at_ns,
    )


def entry_fact(
    ledger: str,
    entry: EntryRow,
    transfer: TransferRow,
    *,
    totals: tuple[int, int] | None = None,
) -> EntryFact:
    """``totals``: the (debits, credits) after the entry to seal when its row has none
    (written before spanner_ddl/0015 and not backfilled); a sealer passes None and
    refuses such an entry, so a later backfill can never change a sealed fact."""
    if entry.debits_after is not None and entry.credits_after is not None:
        totals = (entry.debits_after, entry.credits_after)
    if totals is None:
        raise EncodingError(
            f"entry {entry.sequence} of {entry.account_id} has no DebitsAfter/CreditsAfter: "
            "run the backfill before sealing"
        )
    return EntryFact(
        ledger=ledger,
        account_id=entry.account_id,
        sequence=entry.sequence,
        transfer_id=entry.transfer_id,
        kind=entry.kind,
        amount=entry.amount,
        pending_amount=entry.pending_amount,
        balance_after=entry.balance_after,
        debits_after=totals[0],
        credits_after=totals[1],
        posted_at_ns=entry.posted_at_ns,
        transfer=TransferTerms(
            debit_account_id=transfer.debit_account_id,
            credit_account_id=transfer.credit_account_id,
            amount=transfer.amount,
            currency=transfer.currency,
            reverses_transfer_id=transfer.reverses_transfer_id,
        ),
    )
