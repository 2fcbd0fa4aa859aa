"""The working state of one commit: what it read, and what its orders made of it.

A commit reads every record its orders name first (api.ledger.prefetch), then the rules
(api.ledger.rules) apply the orders one after another to this state, and the commit
writes what changed. Pure: no I/O, so the commit's callback can run again after an abort.

Two disciplines, after TigerBeetle's state machine:

- **Every lookup was prefetched.** The state holds each key the commit read, ``None`` for
  one read and not found. A lookup of a key never read is a bug in what was prefetched
  (``PrefetchMissed``), never a "not found": it would answer 404 for a record that exists.
- **One way of changing state.** Records are immutable; every change stores a new record
  in place of the old (``put_*``) or appends an entry. Inside ``all_or_nothing`` each such
  change is journaled, so a multi-leg order that fails at a leg leaves the state as it
  found it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from api.errors import LedgerError
from api.ledger.errors import AccountNotFound, TransactionNotFound, TransferNotFound
from api.ledger.records import AccountState, EntryRecord, TransactionRecord, TransferRecord

V = TypeVar("V")


class PrefetchMissed(Exception):
    """A lookup of a key this commit never read: a bug in api.ledger.prefetch."""


class ClockRequired(Exception):
    """An order needs Spanner's time and the commit did not read it (a bug)."""


@dataclass(frozen=True)
class Clock:
    """Spanner's time for this commit: ``now`` is at most its time as the transaction
    runs, ``latest_commit`` at least any timestamp its commit can take (no RPC outlives
    the deadline; api.spanner.clock), and ``latest_prompt_commit`` the same were the
    commit's budget cut to end ``MIN_COMMIT_SECONDS`` (api.ledger.rules.transfers) from
    now.

    A hold is expired once ``now`` reaches its ``expires_at``. A :post of it is applied
    when the commit lands before ``expires_at`` with the whole budget, or with a budget
    cut to end before it (``CommitState.must_commit_before``); closer than that it is refused
    while a :void still releases it. A new hold's ``expires_at`` is ``now`` + its
    timeout, never later than its creation + timeout.
    """

    now: datetime
    latest_commit: datetime
    latest_prompt_commit: datetime


class _Table(Generic[V]):
    """Records of one kind by key: every key the commit read (None: not found), and
    which of them it created or changed, in the order it first did."""

    def __init__(self, kind: str, read: Mapping[str, V | None]) -> None:
        self.kind = kind
        self.values: dict[str, V | None] = dict(read)
        self.new: dict[str, None] = {}  # ordered sets
        self.updated: dict[str, None] = {}

    def get(self, key: str) -> V | None:
        try:
            return self.values[key]
        except KeyError:
            raise PrefetchMissed(f"{self.kind} {key!r} was not read by this commit") from None

    def written(self, keys: dict[str, None]) -> list[V]:
        return [value for key in keys if (value := self.values[key]) is not None]


@dataclass
class _Journal:
    """What changed inside ``all_or_nothing``, to put it back."""

    entries: int  # how many entries there were
    slots: list[tuple[_Table[Any], str, object, bool, bool]] = field(default_factory=list)

    def undo(self, entries: list[EntryRecord]) -> None:
        del entries[self.entries :]
        for table, key, value, was_new, was_updated in reversed(self.slots):
            table.values[key] = value
            for keys, was in ((table.new, was_new), (table.updated, was_updated)):
                if was:
                    keys[key] = None
                else:
                    keys.pop(key, None)


class CommitState:
    def __init__(
        self,
        *,
        accounts: Mapping[str, AccountState | None],
        transfers: Mapping[str, TransferRecord | None],
        transactions: Mapping[str, TransactionRecord | None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._accounts: _Table[AccountState] = _Table("account", accounts)
        self._transfers: _Table[TransferRecord] = _Table("transfer", transfers)
        self._transactions: _Table[TransactionRecord] = _Table("transaction", transactions or {})
        self._entries: list[EntryRecord] = []
        self._clock = clock
        self._journal: _Journal | None = None
        self._commit_before: datetime | None = None

    # --- reading ----------------------------------------------------------------------

    def account(self, account_id: str) -> AccountState:
        account = self._accounts.get(account_id)
        if account is None:
            raise AccountNotFound(f"Account {account_id!r} does not exist.")
        return account

    def transfer(self, transfer_id: str) -> TransferRecord:
        transfer = self._transfers.get(transfer_id)
        if transfer is None:
            raise TransferNotFound(f"Transfer {transfer_id!r} does not exist.")
        return transfer

    def find_transfer(self, transfer_id: str) -> TransferRecord | None:
        return self._transfers.get(transfer_id)

    def transaction(self, transaction_id: str) -> TransactionRecord:
        transaction = self._transactions.get(transaction_id)
        if transaction is None:
            raise TransactionNotFound(f"Transaction {transaction_id!r} does not exist.")
        return transaction

    def find_transaction(self, transaction_id: str) -> TransactionRecord | None:
        return self._transactions.get(transaction_id)

    def clock(self) -> Clock:
        if self._clock is None:
            raise ClockRequired("this order needs the commit to read Spanner's time")
        return self._clock

    # --- changing ---------------------------------------------------------------------

    def put_account(self, account: AccountState) -> None:
        self._put(self._accounts, account.id, account, new=False)

    def add_entry(self, entry: EntryRecord) -> None:
        self._entries.append(entry)

    def put_transfer(self, transfer: TransferRecord, *, new: bool = False) -> None:
        self._put(self._transfers, transfer.id, transfer, new=new)

    def put_transaction(self, transaction: TransactionRecord, *, new: bool = False) -> None:
        self._put(self._transactions, transaction.id, transaction, new=new)

    def _put(self, table: _Table[V], key: str, value: V, *, new: bool) -> None:
        if self._journal is not None:
            previous = table.values.get(key)
            self._journal.slots.append(
                (table, key, previous, key in table.new, key in table.updated)
            )
        table.values[key] = value
        (table.new if new or key in table.new else table.updated)[key] = None

    def must_commit_before(self, instant: datetime) -> None:
        """The commit must land before ``instant``: its budget is to be cut to end by
        then (a :post of a hold close to its expiry)."""
        if self._commit_before is None or instant < self._commit_before:
            self._commit_before = instant

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Changes made inside are undone if a LedgerError leaves it."""
        if self._journal is not None:  # nested: the outer one undoes
            yield
            return
        journal = self._journal = _Journal(entries=len(self._entries))
        try:
            yield
        except LedgerError:
            journal.undo(self._entries)
            raise
        finally:
            self._journal = None

    # --- what the commit writes -------------------------------------------------------

    @property
    def commit_before(self) -> datetime | None:
        """When the commit must land by (``must_commit_before``); None: its whole budget
        will do."""
        return self._commit_before

    @property
    def changed_accounts(self) -> list[AccountState]:
        return self._accounts.written(self._accounts.updated)

    @property
    def entries(self) -> list[EntryRecord]:
        """The entries booked, in order (each account's by sequence)."""
        return list(self._entries)

    def entries_of(self, account_id: str) -> list[EntryRecord]:
        return [e for e in self._entries if e.account_id == account_id]

    @property
    def new_transfers(self) -> list[TransferRecord]:
        return self._transfers.written(self._transfers.new)

    @property
    def updated_transfers(self) -> list[TransferRecord]:
        """Transfers stored before this commit that it changed."""
        return self._transfers.written(self._transfers.updated)

    @property
    def new_transactions(self) -> list[TransactionRecord]:
        return self._transactions.written(self._transactions.new)

    @property
    def updated_transactions(self) -> list[TransactionRecord]:
        return self._transactions.written(self._transactions.updated)
