"""The rules of transfers, holds and reversals, applied to a commit's working state.

Holds: a pending transfer reserves its amount (``debits_pending`` of the debit account,
``credits_pending`` of the credit account) and is resolved exactly once: posted (fully
or partly; the rest is released), voided, or expired. Balance bounds count what holds
reserve. Every entry records its kind, so an account's history shows a hold and its
resolution, while only money that moved changes the balance.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Literal

from api.errors import IdempotencyConflict
from api.ids import INT64_MAX
from api.ledger.errors import (
    AccountClosed,
    AmountOverflow,
    CurrencyMismatch,
    InsufficientFunds,
    PostExceedsHold,
    ReversalExceedsAmount,
    SameAccount,
    TransferAlreadyPosted,
    TransferAlreadyVoided,
    TransferExpired,
    TransferExpiring,
    TransferInTransaction,
    TransferNotPending,
    TransferNotPosted,
)
from api.ledger.orders import ExpireOrder, ResolveOrder, ReverseOrder, TransferOrder
from api.ledger.outcome import Outcome
from api.ledger.records import AccountState, EntryKind, EntryRecord, TransferRecord
from api.ledger.state import Clock, CommitState

# The shortest budget a commit is given so that a :post lands before its hold expires
# (a commit of a group on a busy emulator takes tens of milliseconds): a :post any
# closer to expires_at than this is refused as ``TransferExpiring``.
MIN_COMMIT_SECONDS = 0.5


def create(state: CommitState, order: TransferOrder) -> Outcome:
    replay = _replay(state, order.id, order.fingerprint)
    if replay is not None:
        return replay
    debit, credit = _pair(state, order.debit_account_id, order.credit_account_id)
    if order.currency is not None and order.currency != debit.currency:
        raise CurrencyMismatch(
            f"Transfer currency {order.currency} differs from the accounts' {debit.currency}."
        )
    _check_room(debit, credit, order.amount)
    expires_at = expiry(state, order.pending, order.timeout_seconds)
    if order.pending:
        _book(state, debit, order.id, "hold", debits_pending=order.amount)
        _book(state, credit, order.id, "hold", credits_pending=order.amount)
    else:
        _move(state, debit, credit, order.id, order.amount, kind="transfer")
    transfer = TransferRecord(
        id=order.id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=order.amount,
        currency=debit.currency,
        status="pending" if order.pending else "posted",
        metadata=order.metadata,
        request_hash=order.fingerprint,
        created_at=None,
        pending=order.pending,
        expires_at=expires_at,
        transaction_id=order.transaction_id,
        labels=order.labels,
    )
    state.put_transfer(transfer, new=True)
    return Outcome("created", transfer=transfer)


def reverse(
    state: CommitState, order: ReverseOrder, *, transaction_id: str | None = None
) -> Outcome:
    """``transaction_id``: the reversal is a leg of that transaction, reversing a leg."""
    replay = _replay(state, order.id, order.fingerprint)
    if replay is not None:
        return replay
    original = state.transfer(order.transfer_id)
    if transaction_id is None:
        refuse_leg(original, "reverse")
    if original.status != "posted":
        raise TransferNotPosted(
            f"Transfer {original.id!r} is {original.status}: only posted transfers can be reversed."
        )
    room = original.reversible_amount
    amount = order.amount if order.amount is not None else room
    if amount <= 0 or amount > room:
        raise ReversalExceedsAmount(
            f"Transfer {original.id!r} has {room} left to reverse; asked for {amount}."
        )
    # Money goes back: the original credit account is debited.
    debit, credit = _pair(state, original.credit_account_id, original.debit_account_id)
    _check_room(debit, credit, amount)
    _move(state, debit, credit, order.id, amount, kind="reversal")
    reversal = TransferRecord(
        id=order.id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        currency=debit.currency,
        status="posted",
        metadata=order.metadata,
        request_hash=order.fingerprint,
        created_at=None,
        reverses_transfer_id=original.id,
        transaction_id=transaction_id,
        labels=original.labels,  # found by the same queries as what it reverses
    )
    state.put_transfer(reversal, new=True)
    state.put_transfer(
        dataclasses.replace(original, reversed_amount=original.reversed_amount + amount)
    )
    return Outcome("created", transfer=reversal)


def resolve(state: CommitState, order: ResolveOrder, *, as_leg: bool = False) -> Outcome:
    hold = state.transfer(order.transfer_id)
    if not as_leg:
        refuse_leg(hold, order.action)
    if not hold.pending:
        raise TransferNotPending(f"Transfer {hold.id!r} was not created as a hold (pending=true).")
    if hold.status != "pending":
        return _resolved_again(hold, order)
    if hold.expires_at is not None and state.clock().now >= hold.expires_at:
        raise TransferExpired(f"Hold {hold.id!r} expired at {hold.expires_at.isoformat()}.")
    if order.action == "void":  # releasing early is always safe
        return Outcome("created", transfer=_settle(state, hold, 0, "voided", kind="hold_voided"))
    amount = order.amount if order.amount is not None else hold.amount
    if amount > hold.amount:
        raise PostExceedsHold(f"Hold {hold.id!r} holds {hold.amount}; {amount} cannot be posted.")
    if hold.expires_at is not None:
        _commit_in_time(state, hold, hold.expires_at, state.clock())
    return Outcome("created", transfer=_settle(state, hold, amount, "posted", kind="hold_posted"))


def expire(state: CommitState, order: ExpireOrder) -> Outcome:
    hold = state.find_transfer(order.transfer_id)
    if hold is None or hold.status != "pending" or hold.expires_at is None:
        return Outcome("replayed", transfer=hold)  # resolved meanwhile: nothing to do
    if state.clock().now < hold.expires_at:
        return Outcome("replayed", transfer=hold)
    return Outcome("created", transfer=_settle(state, hold, 0, "expired", kind="hold_expired"))


def refuse_leg(transfer: TransferRecord, action: str) -> None:
    """A leg lives with its transaction: no action on one leg alone."""
    if transfer.transaction_id is not None:
        raise TransferInTransaction(
            f"Transfer {transfer.id!r} is a leg of transaction {transfer.transaction_id!r}: "
            f"{action} the transaction (POST /v1/transactions/{transfer.transaction_id}:"
            f"{action}), not one leg."
        )


def expiry(state: CommitState, pending: bool, timeout_seconds: int | None) -> datetime | None:
    """When a new hold's time is up: Spanner's ``now`` plus its timeout."""
    if not pending or timeout_seconds is None:
        return None
    return state.clock().now + timedelta(seconds=timeout_seconds)


def _commit_in_time(
    state: CommitState, hold: TransferRecord, expires_at: datetime, clock: Clock
) -> None:
    """Settling must commit before ``expires_at``: with the request's whole budget, or
    with one cut to end before it; too close for even that, it is refused."""
    if clock.latest_commit < expires_at:
        return
    if clock.latest_prompt_commit >= expires_at:
        raise TransferExpiring(
            f"Hold {hold.id!r} expires at {expires_at.isoformat()}: too soon for a post "
            f"to be sure to commit before it (it needs {MIN_COMMIT_SECONDS} s). It can "
            "still be voided; at expires_at it is released."
        )
    state.must_commit_before(expires_at)


def _resolved_again(hold: TransferRecord, order: ResolveOrder) -> Outcome:
    """A resolution of a hold that is resolved already: the same one is a replay."""
    if hold.status == "expired":
        raise TransferExpired(f"Hold {hold.id!r} expired and was released.")
    if hold.status == "voided":
        if order.action == "void":
            return Outcome("replayed", transfer=hold)
        raise TransferAlreadyVoided(f"Hold {hold.id!r} was voided; it cannot be posted.")
    requested = order.amount if order.amount is not None else hold.amount
    if order.action == "post" and requested == hold.posted_amount:
        return Outcome("replayed", transfer=hold)
    raise TransferAlreadyPosted(
        f"Hold {hold.id!r} was posted ({hold.posted_amount} of {hold.amount})."
    )


def _settle(
    state: CommitState, hold: TransferRecord, posted: int,
    status: Literal["posted", "voided", "expired"], *, kind: EntryKind,
) -> TransferRecord:  # fmt: skip
    """Resolve a hold: its whole reservation is released and ``posted`` of it moves."""
    debit = state.account(hold.debit_account_id)
    _book(state, debit, hold.id, kind, debits_posted=posted, debits_pending=-hold.amount)
    credit = state.account(hold.credit_account_id)
    _book(state, credit, hold.id, kind, credits_posted=posted, credits_pending=-hold.amount)
    settled = dataclasses.replace(
        hold,
        status=status,
        posted_amount=posted if status == "posted" else hold.posted_amount,
        resolved_at=None,
    )
    state.put_transfer(settled)
    return settled


def _replay(state: CommitState, transfer_id: str, fingerprint: str) -> Outcome | None:
    existing = state.find_transfer(transfer_id)
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise IdempotencyConflict(
            f"Transfer id {transfer_id!r} was already used for a different request."
        )
    return Outcome("replayed", transfer=existing)


def _pair(state: CommitState, debit_id: str, credit_id: str) -> tuple[AccountState, AccountState]:
    if debit_id == credit_id:
        raise SameAccount("debit_account_id and credit_account_id must differ.")
    debit, credit = state.account(debit_id), state.account(credit_id)
    if debit.currency != credit.currency:
        raise CurrencyMismatch(
            f"Account {debit.id!r} is in {debit.currency}, "
            f"account {credit.id!r} in {credit.currency}."
        )
    for account in (debit, credit):
        if account.closed:
            raise AccountClosed(f"Account {account.id!r} is closed.")
    return debit, credit


def _check_room(debit: AccountState, credit: AccountState, amount: int) -> None:
    """Totals stay storable, and both balances stay in bounds with holds counted."""
    if debit.debits_posted + debit.debits_pending > INT64_MAX - amount:
        raise AmountOverflow(f"Debits of account {debit.id!r} would overflow.")
    if credit.credits_posted + credit.credits_pending > INT64_MAX - amount:
        raise AmountOverflow(f"Credits of account {credit.id!r} would overflow.")
    floor = debit.floor
    if floor is not None and debit.available_balance - amount < floor:
        raise InsufficientFunds(
            f"Account {debit.id!r} has {debit.available_balance - floor} available."
        )
    ceiling = credit.ceiling
    if ceiling is not None and credit.balance + credit.credits_pending + amount > ceiling:
        raise InsufficientFunds(
            f"Account {credit.id!r} may not be credited beyond its limit (room left: "
            f"{ceiling - credit.balance - credit.credits_pending})."
        )


def _move(state: CommitState, debit: AccountState, credit: AccountState, transfer_id: str,
          amount: int, *, kind: EntryKind) -> None:  # fmt: skip
    _book(state, debit, transfer_id, kind, debits_posted=amount)
    _book(state, credit, transfer_id, kind, credits_posted=amount)


def _book(
    state: CommitState, account: AccountState, transfer_id: str, kind: EntryKind, *,
    debits_posted: int = 0, credits_posted: int = 0,
    debits_pending: int = 0, credits_pending: int = 0,
) -> None:  # fmt: skip
    """Change ``account``'s totals by these amounts and record it as its next entry: the
    money that moved (credits less debits) and the change of what holds reserve."""
    changed = account.booked(
        debits_posted=account.debits_posted + debits_posted,
        credits_posted=account.credits_posted + credits_posted,
        debits_pending=account.debits_pending + debits_pending,
        credits_pending=account.credits_pending + credits_pending,
    )
    state.put_account(changed)
    state.add_entry(
        EntryRecord(
            account_id=changed.id,
            sequence=changed.version,
            transfer_id=transfer_id,
            amount=credits_posted - debits_posted,
            balance_after=changed.balance,
            kind=kind,
            pending_amount=credits_pending - debits_pending,
            debits_after=changed.debits_posted,
            credits_after=changed.credits_posted,
        )
    )
