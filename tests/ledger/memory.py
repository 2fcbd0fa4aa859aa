"""The engine without Spanner: a ledger in dictionaries that commits as ``commit_orders``
does (prefetch by api.ledger.prefetch, apply by api.ledger.apply, write back what the
state changed), for the rules' unit tests and the engine's property test."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from api.ledger import prefetch
from api.ledger.apply import apply_all
from api.ledger.orders import Order
from api.ledger.outcome import Outcome
from api.ledger.records import AccountState, EntryRecord, TransactionRecord, TransferRecord
from api.ledger.state import Clock, CommitState

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def account(account_id: str, *, currency: str = "USD", credits: int = 0, debits: int = 0,
            no_overdraft: bool = False, no_overcredit: bool = False,
            lower: int | None = None, upper: int | None = None) -> AccountState:  # fmt: skip
    return AccountState(
        id=account_id, currency=currency,
        debits_must_not_exceed_credits=no_overdraft,
        credits_must_not_exceed_debits=no_overcredit,
        debits_posted=debits, credits_posted=credits, debits_pending=0, credits_pending=0,
        version=0, lower_bound=lower, upper_bound=upper,
    )  # fmt: skip


def clock_at(now: datetime, *, budget_seconds: float = 10.0) -> Clock:
    """Spanner's time known exactly: a commit lands within ``budget_seconds``."""
    return Clock(
        now=now,
        latest_commit=now + timedelta(seconds=budget_seconds),
        latest_prompt_commit=now + timedelta(seconds=0.5),
    )


def state_for(
    orders: Sequence[Order],
    accounts: Sequence[AccountState],
    *,
    transfers: Sequence[TransferRecord] = (),
    transactions: Sequence[TransactionRecord] = (),
    clock: Clock | None = None,
) -> CommitState:
    """A commit's state that prefetched what ``orders`` need from these stored records."""
    return MemoryLedger(accounts, transfers, transactions).read_state(orders, clock)


@dataclasses.dataclass
class MemoryLedger:
    accounts: dict[str, AccountState]
    transfers: dict[str, TransferRecord]
    transactions: dict[str, TransactionRecord]
    entries: list[EntryRecord] = dataclasses.field(default_factory=list)
    now: datetime = T0
    commits: int = 0

    def __init__(
        self,
        accounts: Sequence[AccountState] = (),
        transfers: Sequence[TransferRecord] = (),
        transactions: Sequence[TransactionRecord] = (),
    ) -> None:
        self.accounts = {a.id: a for a in accounts}
        self.transfers = {t.id: t for t in transfers}
        self.transactions = {t.id: t for t in transactions}
        self.entries = []
        self.now = T0
        self.commits = 0

    def read_state(self, orders: Sequence[Order], clock: Clock | None = None) -> CommitState:
        transaction_ids = prefetch.transaction_ids(orders)
        transactions = {i: self.transactions.get(i) for i in transaction_ids}
        transfer_ids = prefetch.transfer_ids(orders, transactions)
        transfers = {
            **dict.fromkeys(prefetch.absent_legs(orders, transactions)),
            **{i: self.transfers.get(i) for i in transfer_ids},
        }
        account_ids = prefetch.account_ids(orders, transfers, transactions)
        accounts = {i: self.accounts.get(i) for i in account_ids}
        if clock is None and prefetch.needs_clock(orders, transfers, transactions):
            clock = clock_at(self.now)
        return CommitState(
            accounts=accounts, transfers=transfers, transactions=transactions, clock=clock
        )

    def commit(self, orders: Sequence[Order]) -> list[Outcome]:
        """One commit of ``orders``, stamped at ``now`` (then a microsecond later)."""
        state = self.read_state(orders)
        outcomes = apply_all(state, orders)
        stamp = self.now
        for changed in state.changed_accounts:
            self.accounts[changed.id] = changed
        self.entries += [dataclasses.replace(e, posted_at=stamp) for e in state.entries]
        for transfer in state.new_transfers + state.updated_transfers:
            self.transfers[transfer.id] = dataclasses.replace(
                transfer,
                created_at=transfer.created_at or stamp,
                resolved_at=transfer.resolved_at or (stamp if transfer.resolved else None),
            )
        for transaction in state.new_transactions + state.updated_transactions:
            self.transactions[transaction.id] = dataclasses.replace(
                transaction, created_at=transaction.created_at or stamp
            )
        self.commits += 1
        self.now += timedelta(microseconds=1)
        return outcomes

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
