"""Applying orders to in-memory account and transfer state, in order: the ledger's rules.

A ``Posting`` is the working state of ONE read-write transaction. It starts from the
accounts and transfers the transaction read, applies orders one after another (a later
order sees what earlier ones left: balances, holds, reversed amounts), and ends with
the rows to write. Pure: no I/O, so the transaction callback that drives it can run
again.

Holds: a pending transfer reserves its amount (``debits_pending`` of the debit
account, ``credits_pending`` of the credit account) and is resolved exactly once:
posted (fully or partly; the rest is released), voided, or expired. Balance bounds
count what holds reserve. Every entry records its kind, so an account's history shows
a hold and its resolution, while only money that moved changes the balance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from api.accounts.errors import AccountClosed, AccountNotFound
from api.accounts.model import AccountRecord, EntryRecord
from api.accounts.schemas import EntryKind
from api.errors import IdempotencyConflict, LedgerError
from api.ids import INT64_MAX
from api.transfers.errors import (
    AmountOverflow,
    CurrencyMismatch,
    InsufficientFunds,
    PostExceedsHold,
    ReversalExceedsAmount,
    SameAccount,
    TransferAlreadyPosted,
    TransferAlreadyVoided,
    TransferExpired,
    TransferNotFound,
    TransferNotPending,
    TransferNotPosted,
)
from api.transfers.model import (
    ExpireOrder,
    Order,
    ResolveOrder,
    ReverseOrder,
    TransferOrder,
    TransferRecord,
)


@dataclass(frozen=True)
class Outcome:
    """What became of one order: the one result type of the transfers path."""

    kind: Literal["created", "replayed", "failed"]
    transfer: TransferRecord | None = None
    error: LedgerError | None = None

    @property
    def created(self) -> bool:
        return self.kind == "created"


@dataclass(frozen=True)
class Clock:
    """Spanner's time for this transaction: ``now`` is at most its time as the
    transaction runs, and ``latest_commit`` at least any timestamp its commit can take
    (no RPC outlives the deadline; api.spanner.clock). A hold is expired for posting
    once ``latest_commit`` reaches its ``expires_at``, and for the sweeper once ``now``
    has; a new hold's ``expires_at`` is ``now`` + its timeout, never later than its
    creation + timeout.
    """

    now: datetime
    latest_commit: datetime


class ClockRequired(Exception):
    """An order needs Spanner's time and the transaction did not read it (a bug)."""


class Posting:
    def __init__(
        self,
        accounts: dict[str, AccountRecord],
        transfers: dict[str, TransferRecord],
        *,
        clock: Clock | None = None,
    ) -> None:
        self._accounts = accounts
        self._transfers = transfers
        self._clock = clock
        self._new: dict[str, TransferRecord] = {}
        self._updated: dict[str, TransferRecord] = {}

    @property
    def changed_accounts(self) -> list[AccountRecord]:
        return [a for a in self._accounts.values() if a.new_entries]

    @property
    def new_transfers(self) -> list[TransferRecord]:
        return list(self._new.values())

    @property
    def updated_transfers(self) -> list[TransferRecord]:
        """Transfers stored before this transaction that it changed."""
        return list(self._updated.values())

    def apply_all(self, orders: Iterable[Order]) -> list[Outcome]:
        return [self.apply(order) for order in orders]

    def apply(self, order: Order) -> Outcome:
        try:
            if isinstance(order, TransferOrder):
                return self._create(order)
            if isinstance(order, ResolveOrder):
                return self._resolve(order)
            if isinstance(order, ReverseOrder):
                return self._reverse(order)
            return self._expire(order)
        except LedgerError as error:
            return Outcome("failed", error=error)

    # --- creating -------------------------------------------------------------------

    def _create(self, order: TransferOrder) -> Outcome:
        replay = self._replay(order.id, order.fingerprint)
        if replay is not None:
            return replay
        debit, credit = self._pair(order.debit_account_id, order.credit_account_id)
        if order.currency is not None and order.currency != debit.currency:
            raise CurrencyMismatch(
                f"Transfer currency {order.currency} differs from the accounts' {debit.currency}."
            )
        self._check_room(debit, credit, order.amount)
        expires_at = None
        if order.pending:
            if order.timeout_seconds is not None:
                expires_at = self._now().now + timedelta(seconds=order.timeout_seconds)
            self._hold(debit, credit, order.id, order.amount)
        else:
            self._move(debit, credit, order.id, order.amount, kind="transfer")
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
        )
        self._store(transfer, new=True)
        return Outcome("created", transfer=transfer)

    def _reverse(self, order: ReverseOrder) -> Outcome:
        replay = self._replay(order.id, order.fingerprint)
        if replay is not None:
            return replay
        original = self._transfer(order.transfer_id)
        if original.status != "posted":
            raise TransferNotPosted(
                f"Transfer {original.id!r} is {original.status}: only posted transfers "
                "can be reversed."
            )
        room = original.reversible_amount
        amount = order.amount if order.amount is not None else room
        if amount <= 0 or amount > room:
            raise ReversalExceedsAmount(
                f"Transfer {original.id!r} has {room} left to reverse; asked for {amount}."
            )
        # Money goes back: the original credit account is debited.
        debit, credit = self._pair(original.credit_account_id, original.debit_account_id)
        self._check_room(debit, credit, amount)
        self._move(debit, credit, order.id, amount, kind="reversal")
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
        )
        self._store(reversal, new=True)
        self._store(
            dataclasses.replace(original, reversed_amount=original.reversed_amount + amount)
        )
        return Outcome("created", transfer=reversal)

    # --- resolving holds --------------------------------------------------------------

    def _resolve(self, order: ResolveOrder) -> Outcome:
        hold = self._transfer(order.transfer_id)
        if not hold.pending:
            raise TransferNotPending(
                f"Transfer {hold.id!r} was not created as a hold (pending=true)."
            )
        if hold.status != "pending":
            return self._resolved_again(hold, order)
        if hold.expires_at is not None:
            clock = self._now()
            if clock.now >= hold.expires_at:
                raise TransferExpired(f"Hold {hold.id!r} expired at {hold.expires_at.isoformat()}.")
            # Releasing early is always safe; settling must commit before expires_at.
            if order.action == "post" and clock.latest_commit >= hold.expires_at:
                raise TransferExpired(
                    f"Hold {hold.id!r} expires at {hold.expires_at.isoformat()}, before this "
                    "request's commit could be sure to land; it can no longer be posted."
                )
        if order.action == "void":
            return Outcome("created", transfer=self._settle(hold, 0, "voided", kind="hold_voided"))
        amount = order.amount if order.amount is not None else hold.amount
        if amount > hold.amount:
            raise PostExceedsHold(
                f"Hold {hold.id!r} holds {hold.amount}; {amount} cannot be posted."
            )
        return Outcome("created", transfer=self._settle(hold, amount, "posted", kind="hold_posted"))

    def _resolved_again(self, hold: TransferRecord, order: ResolveOrder) -> Outcome:
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

    def _expire(self, order: ExpireOrder) -> Outcome:
        hold = self._transfers.get(order.transfer_id)
        if hold is None or hold.status != "pending" or hold.expires_at is None:
            return Outcome("replayed", transfer=hold)  # resolved meanwhile: nothing to do
        if self._now().now < hold.expires_at:
            return Outcome("replayed", transfer=hold)
        return Outcome("created", transfer=self._settle(hold, 0, "expired", kind="hold_expired"))

    def _settle(self, hold: TransferRecord, posted: int,
                status: Literal["posted", "voided", "expired"], *,
                kind: EntryKind) -> TransferRecord:  # fmt: skip
        """Resolve a hold: its whole reservation is released and ``posted`` of it moves."""
        debit, credit = self._account(hold.debit_account_id), self._account(hold.credit_account_id)
        debit.debits_pending -= hold.amount
        credit.credits_pending -= hold.amount
        debit.debits_posted += posted
        credit.credits_posted += posted
        self._entry(debit, hold.id, -posted, hold.amount, kind=kind)
        self._entry(credit, hold.id, posted, -hold.amount, kind=kind)
        settled = dataclasses.replace(
            hold,
            status=status,
            posted_amount=posted if status == "posted" else hold.posted_amount,
            resolved_at=None,
        )
        self._store(settled)
        return settled

    # --- moving money -----------------------------------------------------------------

    def _pair(self, debit_id: str, credit_id: str) -> tuple[AccountRecord, AccountRecord]:
        if debit_id == credit_id:
            raise SameAccount("debit_account_id and credit_account_id must differ.")
        debit, credit = self._account(debit_id), self._account(credit_id)
        if debit.currency != credit.currency:
            raise CurrencyMismatch(
                f"Account {debit.id!r} is in {debit.currency}, "
                f"account {credit.id!r} in {credit.currency}."
            )
        for account in (debit, credit):
            if account.closed:
                raise AccountClosed(f"Account {account.id!r} is closed.")
        return debit, credit

    @staticmethod
    def _check_room(debit: AccountRecord, credit: AccountRecord, amount: int) -> None:
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

    def _move(self, debit: AccountRecord, credit: AccountRecord, transfer_id: str,
              amount: int, *, kind: EntryKind) -> None:  # fmt: skip
        debit.debits_posted += amount
        credit.credits_posted += amount
        self._entry(debit, transfer_id, -amount, 0, kind=kind)
        self._entry(credit, transfer_id, amount, 0, kind=kind)

    def _hold(self, debit: AccountRecord, credit: AccountRecord, transfer_id: str,
              amount: int) -> None:  # fmt: skip
        debit.debits_pending += amount
        credit.credits_pending += amount
        self._entry(debit, transfer_id, 0, -amount, kind="hold")
        self._entry(credit, transfer_id, 0, amount, kind="hold")

    @staticmethod
    def _entry(account: AccountRecord, transfer_id: str, amount: int, pending: int, *,
               kind: EntryKind) -> None:  # fmt: skip
        account.version += 1
        account.new_entries.append(
            EntryRecord(
                account_id=account.id,
                sequence=account.version,
                transfer_id=transfer_id,
                amount=amount,
                balance_after=account.balance,
                kind=kind,
                pending_amount=pending,
            )
        )

    # --- state ------------------------------------------------------------------------

    def _replay(self, transfer_id: str, fingerprint: str) -> Outcome | None:
        existing = self._transfers.get(transfer_id)
        if existing is None:
            return None
        if existing.request_hash != fingerprint:
            raise IdempotencyConflict(
                f"Transfer id {transfer_id!r} was already used for a different request."
            )
        return Outcome("replayed", transfer=existing)

    def _store(self, transfer: TransferRecord, *, new: bool = False) -> None:
        self._transfers[transfer.id] = transfer
        if new or transfer.id in self._new:
            self._new[transfer.id] = transfer
        else:
            self._updated[transfer.id] = transfer

    def _now(self) -> Clock:
        if self._clock is None:
            raise ClockRequired("this order needs the transaction to read Spanner's time")
        return self._clock

    def _account(self, account_id: str) -> AccountRecord:
        account = self._accounts.get(account_id)
        if account is None:
            raise AccountNotFound(f"Account {account_id!r} does not exist.")
        return account

    def _transfer(self, transfer_id: str) -> TransferRecord:
        transfer = self._transfers.get(transfer_id)
        if transfer is None:
            raise TransferNotFound(f"Transfer {transfer_id!r} does not exist.")
        return transfer


def needs_clock(orders: Iterable[Order], transfers: dict[str, TransferRecord]) -> bool:
    """Whether applying ``orders`` to ``transfers`` needs Spanner's time (a query):
    only holds with a timeout do, so plain transfers and holds never pay for it.

    A hold with a timeout created earlier in the same group already asks for it.
    """
    for order in orders:
        if isinstance(order, TransferOrder):
            if order.pending and order.timeout_seconds is not None:
                return True
        elif isinstance(order, ExpireOrder):
            return True
        elif isinstance(order, ResolveOrder):
            hold = transfers.get(order.transfer_id)
            if hold is not None and hold.expires_at is not None:
                return True
    return False


def referenced_transfer_ids(orders: Iterable[Order]) -> list[str]:
    ids: list[str] = []
    for order in orders:
        if isinstance(order, TransferOrder):
            ids.append(order.id)
        elif isinstance(order, ReverseOrder):
            ids += [order.id, order.transfer_id]
        else:
            ids.append(order.transfer_id)
    return ids
