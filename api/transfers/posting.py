"""Applying orders to in-memory account and transfer state, in order: the ledger's rules.

A ``Posting`` is the working state of ONE read-write transaction. It starts from the
accounts and transfers the transaction read, applies orders one after another (a later
order sees what earlier ones left: balances, holds, reversed amounts), and ends with
the rows to write. Pure: no I/O, so the transaction callback that drives it can run
again.

Multi-leg transactions (api.transactions) apply all their legs or none: a failing leg
undoes what the legs before it did to this state, and fails the transaction with that
leg's problem and index. Their legs are settled, released, expired and reversed
together; a leg cannot be on its own.

Holds: a pending transfer reserves its amount (``debits_pending`` of the debit
account, ``credits_pending`` of the credit account) and is resolved exactly once:
posted (fully or partly; the rest is released), voided, or expired. Balance bounds
count what holds reserve. Every entry records its kind, so an account's history shows
a hold and its resolution, while only money that moved changes the balance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from api.accounts.errors import AccountClosed, AccountNotFound
from api.accounts.model import AccountState, EntryRecord
from api.accounts.schemas import EntryKind
from api.errors import IdempotencyConflict, LedgerError
from api.ids import INT64_MAX
from api.transactions.errors import TransactionNotFound
from api.transactions.model import (
    AnyOrder,
    ExpireTransactionOrder,
    ResolveTransactionOrder,
    ReverseTransactionOrder,
    TransactionOrder,
    TransactionRecord,
    transaction_status,
)
from api.transfers.errors import (
    AmountOverflow,
    CurrencyMismatch,
    InsufficientFunds,
    LegFailed,
    PostExceedsHold,
    ReversalExceedsAmount,
    SameAccount,
    TransferAlreadyPosted,
    TransferAlreadyVoided,
    TransferExpired,
    TransferExpiring,
    TransferInTransaction,
    TransferNotFound,
    TransferNotPending,
    TransferNotPosted,
)
from api.transfers.model import (
    ExpireOrder,
    ResolveOrder,
    ReverseOrder,
    TransferOrder,
    TransferRecord,
    leg_id,
)


@dataclass(frozen=True)
class Outcome:
    """What became of one order: the one result type of the transfers path. An order on
    a transaction carries the transaction and its legs, in leg order."""

    kind: Literal["created", "replayed", "failed"]
    transfer: TransferRecord | None = None
    error: LedgerError | None = None
    transaction: TransactionRecord | None = None
    legs: tuple[TransferRecord, ...] = ()

    @property
    def created(self) -> bool:
        return self.kind == "created"


# The shortest budget a commit is given so that a :post lands before its hold expires
# (a commit of a group on a busy emulator takes tens of milliseconds): a :post any
# closer to expires_at than this is refused as ``TransferExpiring``.
MIN_COMMIT_SECONDS = 0.5


@dataclass(frozen=True)
class Clock:
    """Spanner's time for this transaction: ``now`` is at most its time as the
    transaction runs, ``latest_commit`` at least any timestamp its commit can take
    (no RPC outlives the deadline; api.spanner.clock), and ``latest_prompt_commit`` the
    same were the commit's budget cut to end ``MIN_COMMIT_SECONDS`` from now.

    A hold is expired once ``now`` reaches its ``expires_at``. A :post of it is applied
    when the commit lands before ``expires_at`` with the whole budget, or with a budget
    cut to end before it (``Posting.commit_before``); closer than that it is refused
    (``TransferExpiring``) while a :void still releases it. A new hold's ``expires_at``
    is ``now`` + its timeout, never later than its creation + timeout.
    """

    now: datetime
    latest_commit: datetime
    latest_prompt_commit: datetime


class ClockRequired(Exception):
    """An order needs Spanner's time and the transaction did not read it (a bug)."""


_ABSENT = object()


@dataclass
class _Journal:
    """How the state was before a multi-leg order touched it, to undo a failed one."""

    # Each account touched, with a copy of it as it was (accounts are changed in place).
    accounts: dict[str, tuple[AccountState, AccountState]] = field(default_factory=dict)
    slots: list[tuple[dict[str, Any], str, object]] = field(default_factory=list)

    def remember_account(self, account: AccountState) -> None:
        if account.id not in self.accounts:
            before = dataclasses.replace(account, new_entries=list(account.new_entries))
            self.accounts[account.id] = (account, before)

    def remember(self, table: dict[str, Any], key: str) -> None:
        self.slots.append((table, key, table.get(key, _ABSENT)))

    def undo(self) -> None:
        for account, before in self.accounts.values():
            vars(account).update(vars(before))
        for table, key, value in reversed(self.slots):
            if value is _ABSENT:
                table.pop(key, None)
            else:
                table[key] = value


class Posting:
    def __init__(
        self,
        accounts: dict[str, AccountState],
        transfers: dict[str, TransferRecord],
        transactions: dict[str, TransactionRecord] | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._accounts = accounts
        self._transfers = transfers
        self._transactions = transactions if transactions is not None else {}
        self._clock = clock
        self._new: dict[str, TransferRecord] = {}
        self._updated: dict[str, TransferRecord] = {}
        self._new_transactions: dict[str, TransactionRecord] = {}
        self._updated_transactions: dict[str, TransactionRecord] = {}
        self._journal: _Journal | None = None
        self._commit_before: datetime | None = None

    @property
    def commit_before(self) -> datetime | None:
        """The commit must land before this (a :post of a hold close to its expiry): its
        budget is to be cut to end by then. None: the whole budget will do."""
        return self._commit_before

    @property
    def changed_accounts(self) -> list[AccountState]:
        return [a for a in self._accounts.values() if a.new_entries]

    @property
    def new_transfers(self) -> list[TransferRecord]:
        return list(self._new.values())

    @property
    def updated_transfers(self) -> list[TransferRecord]:
        """Transfers stored before this transaction that it changed."""
        return list(self._updated.values())

    @property
    def new_transactions(self) -> list[TransactionRecord]:
        return list(self._new_transactions.values())

    @property
    def updated_transactions(self) -> list[TransactionRecord]:
        return list(self._updated_transactions.values())

    def apply_all(self, orders: Iterable[AnyOrder]) -> list[Outcome]:
        return [self.apply(order) for order in orders]

    def apply(self, order: AnyOrder) -> Outcome:
        try:
            return _APPLY[type(order)](self, order)
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
        expires_at = self._expiry(order)
        if order.pending:
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
            transaction_id=order.transaction_id,
            labels=order.labels,
        )
        self._store(transfer, new=True)
        return Outcome("created", transfer=transfer)

    def _reverse(self, order: ReverseOrder, *, transaction_id: str | None = None) -> Outcome:
        """``transaction_id``: the reversal is a leg of that transaction, reversing a leg."""
        replay = self._replay(order.id, order.fingerprint)
        if replay is not None:
            return replay
        original = self._transfer(order.transfer_id)
        if transaction_id is None:
            self._refuse_leg(original, "reverse")
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
            transaction_id=transaction_id,
            labels=original.labels,  # found by the same queries as what it reverses
        )
        self._store(reversal, new=True)
        self._store(
            dataclasses.replace(original, reversed_amount=original.reversed_amount + amount)
        )
        return Outcome("created", transfer=reversal)

    # --- resolving holds --------------------------------------------------------------

    def _resolve(self, order: ResolveOrder, *, as_leg: bool = False) -> Outcome:
        hold = self._transfer(order.transfer_id)
        if not as_leg:
            self._refuse_leg(hold, order.action)
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
        if order.action == "void":  # releasing early is always safe
            return Outcome("created", transfer=self._settle(hold, 0, "voided", kind="hold_voided"))
        amount = order.amount if order.amount is not None else hold.amount
        if amount > hold.amount:
            raise PostExceedsHold(
                f"Hold {hold.id!r} holds {hold.amount}; {amount} cannot be posted."
            )
        if hold.expires_at is not None:
            self._commit_in_time(hold, self._now())
        return Outcome("created", transfer=self._settle(hold, amount, "posted", kind="hold_posted"))

    def _commit_in_time(self, hold: TransferRecord, clock: Clock) -> None:
        """Settling must commit before ``expires_at``: with the request's whole budget,
        or with one cut to end before it; too close for even that, it is refused."""
        expires_at = hold.expires_at
        if expires_at is None or clock.latest_commit < expires_at:
            return
        if clock.latest_prompt_commit >= expires_at:
            raise TransferExpiring(
                f"Hold {hold.id!r} expires at {expires_at.isoformat()}: too soon for a post "
                f"to be sure to commit before it (it needs {MIN_COMMIT_SECONDS} s). It can "
                "still be voided; at expires_at it is released."
            )
        if self._commit_before is None or expires_at < self._commit_before:
            self._commit_before = expires_at

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

    # --- transactions -----------------------------------------------------------------

    def _create_transaction(self, order: TransactionOrder) -> Outcome:
        replay = self._replay_transaction(order.id, order.fingerprint)
        if replay is not None:
            return replay

        def create_leg(index: int, transfer_id: str) -> Outcome:
            leg = order.legs[index]
            return self._create(
                TransferOrder(
                    id=transfer_id,
                    debit_account_id=leg.debit_account_id,
                    credit_account_id=leg.credit_account_id,
                    amount=leg.amount,
                    currency=leg.currency,
                    metadata=leg.metadata,
                    fingerprint=order.fingerprint,
                    pending=order.pending,
                    timeout_seconds=order.timeout_seconds,
                    transaction_id=order.id,
                    labels=leg.labels,
                )
            )

        ids = [leg_id(order.id, index) for index in range(len(order.legs))]
        with self._all_or_nothing():
            legs = self._each_leg(ids, create_leg)
            transaction = TransactionRecord(
                id=order.id,
                leg_count=len(legs),
                pending=order.pending,
                metadata=order.metadata,
                request_hash=order.fingerprint,
                created_at=None,
                expires_at=self._expiry(order),
                labels=order.labels,
            )
            self._store_transaction(transaction, new=True)
        return self._transaction_outcome(transaction, legs)

    def _resolve_transaction(self, order: ResolveTransactionOrder) -> Outcome:
        transaction = self._transaction(order.transaction_id)
        if not transaction.pending:
            raise TransferNotPending(
                f"Transaction {transaction.id!r} was not created pending (pending=true)."
            )
        with self._all_or_nothing():
            try:
                legs = [
                    self._resolve(ResolveOrder(leg, order.action), as_leg=True)
                    for leg in transaction.leg_ids
                ]
            except LedgerError as error:
                # The legs live as one: what refuses one refuses the transaction.
                error.detail = f"Transaction {transaction.id!r}: {error.detail}"
                raise
        return self._transaction_outcome(transaction, legs)

    def _reverse_transaction(self, order: ReverseTransactionOrder) -> Outcome:
        replay = self._replay_transaction(order.id, order.fingerprint)
        if replay is not None:
            return replay
        original = self._transaction(order.transaction_id)
        if original.reversed_by_transaction_id is not None:
            raise ReversalExceedsAmount(
                f"Transaction {original.id!r} was reversed by "
                f"{original.reversed_by_transaction_id!r}; nothing is left to reverse."
            )
        status = transaction_status([self._transfer(leg) for leg in original.leg_ids])
        if status != "posted":
            raise TransferNotPosted(
                f"Transaction {original.id!r} is {status}: only posted transactions can be "
                "reversed."
            )

        def reverse_leg(index: int, reversal_leg: str) -> Outcome:
            reverse = ReverseOrder(
                id=reversal_leg,
                transfer_id=leg_id(original.id, index),
                amount=None,
                metadata=None,
                fingerprint=order.fingerprint,
            )
            return self._reverse(reverse, transaction_id=order.id)

        # Last leg first: a leg may spend what an earlier one brought (a merchant's fee
        # out of the payment), so undoing in the order of application could break a
        # bound that the end state keeps.
        ids = [leg_id(order.id, index) for index in range(original.leg_count)]
        with self._all_or_nothing():
            legs = self._each_leg(ids, reverse_leg, backwards=True)
            reversal = TransactionRecord(
                id=order.id,
                leg_count=original.leg_count,
                pending=False,
                metadata=order.metadata,
                request_hash=order.fingerprint,
                created_at=None,
                reverses_transaction_id=original.id,
                labels=original.labels,
            )
            self._store_transaction(reversal, new=True)
            self._store_transaction(
                dataclasses.replace(original, reversed_by_transaction_id=reversal.id)
            )
        return self._transaction_outcome(reversal, legs)

    def _expire_transaction(self, order: ExpireTransactionOrder) -> Outcome:
        transaction = self._transactions.get(order.transaction_id)
        if transaction is None:
            return Outcome("replayed")
        # Each leg's release re-checks its hold and the time: it cannot fail.
        legs = [self._expire(ExpireOrder(leg)) for leg in transaction.leg_ids]
        return self._transaction_outcome(transaction, legs)

    def _each_leg(
        self, leg_ids: list[str], apply: Callable[[int, str], Outcome], *, backwards: bool = False
    ) -> list[Outcome]:
        """``apply`` each leg (in order, or last first); the outcomes in leg order."""
        indexes = range(len(leg_ids) - 1, -1, -1) if backwards else range(len(leg_ids))
        outcomes: dict[int, Outcome] = {}
        for index in indexes:
            try:
                outcomes[index] = apply(index, leg_ids[index])
            except LedgerError as error:
                raise LegFailed(index, leg_ids[index], error) from None
        return [outcomes[index] for index in range(len(leg_ids))]

    def _transaction_outcome(self, transaction: TransactionRecord, legs: list[Outcome]) -> Outcome:
        created = any(leg.created for leg in legs)
        return Outcome(
            "created" if created else "replayed",
            transaction=self._transactions.get(transaction.id, transaction),
            legs=tuple(leg.transfer for leg in legs if leg.transfer is not None),
        )

    def _replay_transaction(self, transaction_id: str, fingerprint: str) -> Outcome | None:
        existing = self._transactions.get(transaction_id)
        if existing is None:
            return None
        if existing.request_hash != fingerprint:
            raise IdempotencyConflict(
                f"Transaction id {transaction_id!r} was already used for a different request."
            )
        legs = tuple(self._transfer(leg) for leg in existing.leg_ids)
        return Outcome("replayed", transaction=existing, legs=legs)

    @staticmethod
    def _refuse_leg(transfer: TransferRecord, action: str) -> None:
        if transfer.transaction_id is not None:
            raise TransferInTransaction(
                f"Transfer {transfer.id!r} is a leg of transaction {transfer.transaction_id!r}: "
                f"{action} the transaction (POST /v1/transactions/{transfer.transaction_id}:"
                f"{action}), not one leg."
            )

    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """Changes made inside are undone if a LedgerError leaves it."""
        if self._journal is not None:  # nested: the outer one undoes
            yield
            return
        journal = self._journal = _Journal()
        try:
            yield
        except LedgerError:
            journal.undo()
            raise
        finally:
            self._journal = None

    # --- moving money -----------------------------------------------------------------

    def _pair(self, debit_id: str, credit_id: str) -> tuple[AccountState, AccountState]:
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

    def _move(self, debit: AccountState, credit: AccountState, transfer_id: str,
              amount: int, *, kind: EntryKind) -> None:  # fmt: skip
        debit.debits_posted += amount
        credit.credits_posted += amount
        self._entry(debit, transfer_id, -amount, 0, kind=kind)
        self._entry(credit, transfer_id, amount, 0, kind=kind)

    def _hold(self, debit: AccountState, credit: AccountState, transfer_id: str,
              amount: int) -> None:  # fmt: skip
        debit.debits_pending += amount
        credit.credits_pending += amount
        self._entry(debit, transfer_id, 0, -amount, kind="hold")
        self._entry(credit, transfer_id, 0, amount, kind="hold")

    @staticmethod
    def _entry(account: AccountState, transfer_id: str, amount: int, pending: int, *,
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
                debits_after=account.debits_posted,
                credits_after=account.credits_posted,
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
        self._put(self._transfers, self._new, self._updated, transfer.id, transfer, new=new)

    def _store_transaction(self, transaction: TransactionRecord, *, new: bool = False) -> None:
        self._put(
            self._transactions, self._new_transactions, self._updated_transactions,
            transaction.id, transaction, new=new,
        )  # fmt: skip

    def _put(self, table: dict[str, Any], created: dict[str, Any], updated: dict[str, Any],
             key: str, value: object, *, new: bool) -> None:  # fmt: skip
        """Store ``value`` in ``table`` and in what is to be inserted or updated."""
        target = created if new or key in created else updated
        if self._journal is not None:
            for slot in (table, target):
                self._journal.remember(slot, key)
        table[key] = value
        target[key] = value

    def _expiry(self, order: TransferOrder | TransactionOrder) -> datetime | None:
        """When a new hold's time is up: Spanner's ``now`` plus its timeout."""
        if not order.pending or order.timeout_seconds is None:
            return None
        return self._now().now + timedelta(seconds=order.timeout_seconds)

    def _now(self) -> Clock:
        if self._clock is None:
            raise ClockRequired("this order needs the transaction to read Spanner's time")
        return self._clock

    def _account(self, account_id: str) -> AccountState:
        account = self._accounts.get(account_id)
        if account is None:
            raise AccountNotFound(f"Account {account_id!r} does not exist.")
        if self._journal is not None:
            self._journal.remember_account(account)
        return account

    def _transaction(self, transaction_id: str) -> TransactionRecord:
        transaction = self._transactions.get(transaction_id)
        if transaction is None:
            raise TransactionNotFound(f"Transaction {transaction_id!r} does not exist.")
        return transaction

    def _transfer(self, transfer_id: str) -> TransferRecord:
        transfer = self._transfers.get(transfer_id)
        if transfer is None:
            raise TransferNotFound(f"Transfer {transfer_id!r} does not exist.")
        return transfer


_APPLY: dict[type, Callable[[Posting, Any], Outcome]] = {
    TransferOrder: Posting._create,
    ResolveOrder: Posting._resolve,
    ReverseOrder: Posting._reverse,
    ExpireOrder: Posting._expire,
    TransactionOrder: Posting._create_transaction,
    ResolveTransactionOrder: Posting._resolve_transaction,
    ReverseTransactionOrder: Posting._reverse_transaction,
    ExpireTransactionOrder: Posting._expire_transaction,
}


def needs_clock(
    orders: Iterable[AnyOrder],
    transfers: dict[str, TransferRecord],
    transactions: dict[str, TransactionRecord] | None = None,
) -> bool:
    """Whether applying ``orders`` needs Spanner's time (a query): only holds with a
    timeout do, so plain transfers and holds never pay for it.

    A hold with a timeout created earlier in the same group already asks for it.
    """
    for order in orders:
        if isinstance(order, TransferOrder | TransactionOrder):
            if order.pending and order.timeout_seconds is not None:
                return True
        elif isinstance(order, ExpireOrder | ExpireTransactionOrder):
            return True
        elif isinstance(order, ResolveOrder):
            hold = transfers.get(order.transfer_id)
            if hold is not None and hold.expires_at is not None:
                return True
        elif isinstance(order, ResolveTransactionOrder):
            transaction = (transactions or {}).get(order.transaction_id)
            if transaction is not None and transaction.expires_at is not None:
                return True
    return False


def referenced_transaction_ids(orders: Iterable[AnyOrder]) -> list[str]:
    ids: list[str] = []
    for order in orders:
        if isinstance(order, TransactionOrder):
            ids.append(order.id)
        elif isinstance(order, ReverseTransactionOrder):
            ids += [order.id, order.transaction_id]
        elif isinstance(order, ResolveTransactionOrder | ExpireTransactionOrder):
            ids.append(order.transaction_id)
    return ids


def referenced_transfer_ids(
    orders: Iterable[AnyOrder], transactions: dict[str, TransactionRecord] | None = None
) -> list[str]:
    """The transfers the orders name, and the legs of the stored ``transactions`` they
    name (those found among ``referenced_transaction_ids``)."""
    ids: list[str] = []
    for order in orders:
        if isinstance(order, TransferOrder):
            ids.append(order.id)
        elif isinstance(order, ReverseOrder):
            ids += [order.id, order.transfer_id]
        elif isinstance(order, ResolveOrder | ExpireOrder):
            ids.append(order.transfer_id)
    for transaction in (transactions or {}).values():
        ids += transaction.leg_ids
    return ids
