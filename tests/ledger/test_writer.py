"""Group commit on the real emulator: same results as one-at-a-time, faults contained."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import spanner
from google.cloud.spanner_v1.transaction import Transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_mock import MockerFixture

from api.accounts import entries_repository
from api.accounts import repository as accounts_repository
from api.accounts.schemas import AccountCreate
from api.accounts.service import open_account
from api.config import Settings
from api.context import RequestContext
from api.ledger.commit import commit_orders
from api.ledger.orders import TransferOrder
from api.ledger.outcome import Outcome
from api.ledger.repository import transfers as transfers_repository
from api.ledger.writer import LedgerWriter
from api.storage import DatabaseHandles, build_client
from api.transfers.convert import prepare
from api.transfers.schemas import TransferCreate
from devtools.admin import drop_database
from tests.support import TEST_INSTANCE

ACCOUNTS = ["bank", "wallet-1", "wallet-2", "credit"]
ID_POOL = [f"t{i}" for i in range(10)]  # small: replays and conflicts happen


class Ledger:
    """A fresh migrated database with the four test accounts open."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.databases = DatabaseHandles.open(settings, build_client(settings))
        for account_id in ACCOUNTS:
            flags = {
                "wallet-1": {"debits_must_not_exceed_credits": True},
                "wallet-2": {"debits_must_not_exceed_credits": True},
                "credit": {"credits_must_not_exceed_debits": True},
            }.get(account_id, {})
            open_account(
                databases=self.databases,
                settings=settings,
                ctx=RequestContext.starting_now(10),
                request=AccountCreate(id=account_id, currency="USD", flags=flags),
            )

    def state(self) -> dict[str, Any]:
        def read(tx: Any) -> dict[str, Any]:
            accounts = accounts_repository.read_accounts(tx, ACCOUNTS)
            return {
                a.id: (
                    a.balance,
                    a.version,
                    [(e.sequence, e.transfer_id, e.amount, e.balance_after)
                     for e in entries_repository.list_entries(
                         tx, a, limit=1000, before_sequence=None)],
                )
                for a in accounts.values()
            }  # fmt: skip

        state, _ = self.databases.reader.read_consistent(read, budget=within(10))
        transfers = self.databases.reader.read(
            lambda tx: transfers_repository.read_transfers(tx, ID_POOL), budget=within(10)
        )
        state["transfers"] = {
            t.id: (t.debit_account_id, t.credit_account_id, t.amount) for t in transfers.values()
        }
        return state

    def writer(self) -> LedgerWriter:
        return LedgerWriter(self.databases.writer, self.settings)

    def order(self, request: TransferCreate) -> TransferOrder:
        return prepare(request, settings=self.settings)


def within(seconds: float) -> Any:
    return RequestContext.starting_now(seconds).budget("test")


@pytest.fixture
def make_ledger(
    ledger_settings: Settings,
    ledger_database_factory: Callable[[], str],
    spanner_client: spanner.Client,
) -> Iterator[Callable[..., Ledger]]:
    ledgers: list[Ledger] = []

    def make(**overrides: object) -> Ledger:
        settings = ledger_settings.model_copy(
            update={"spanner_database": ledger_database_factory(), **overrides}
        )
        ledger = Ledger(settings)
        ledgers.append(ledger)
        return ledger

    def drop(ledger: Ledger) -> None:
        """Close and drop now: the emulator holds at most 100 databases per instance,
        and a hypothesis test makes two per example."""
        ledgers.remove(ledger)
        ledger.databases.close()
        drop_database(spanner_client, TEST_INSTANCE, ledger.settings.spanner_database)

    make.drop = drop  # type: ignore[attr-defined]
    yield make
    for ledger in list(ledgers):
        drop(ledger)


def transfer(transfer_id: str, credit: str, amount: int) -> TransferCreate:
    return TransferCreate(
        id=transfer_id, debit_account_id="bank", credit_account_id=credit, amount=amount
    )


def signature(result: Outcome) -> tuple[Any, ...]:
    if result.error is not None:
        return ("failed", result.error.code)
    assert result.transfer is not None
    t = result.transfer
    return ("created" if result.created else "replayed", t.id, t.amount, t.debit_account_id)


transfer_requests = st.lists(
    st.builds(
        TransferCreate,
        id=st.sampled_from(ID_POOL),
        debit_account_id=st.sampled_from([*ACCOUNTS, "ghost"]),
        credit_account_id=st.sampled_from(ACCOUNTS),
        amount=st.integers(min_value=1, max_value=300),
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(requests=transfer_requests, max_items=st.integers(min_value=1, max_value=16))
def test_group_commit_matches_one_at_a_time(
    make_ledger: Callable[..., Ledger], requests: list[TransferCreate], max_items: int
) -> None:
    grouped = make_ledger(group_commit_window_ms=20, group_commit_max_items=max_items)
    sequential = make_ledger()
    try:
        writer = grouped.writer()
        assert writer.batcher is not None
        deadline = time.monotonic() + 30
        futures = [writer.batcher.submit(grouped.order(r), deadline=deadline) for r in requests]
        grouped_results = [signature(f.result(30)) for f in futures]
        writer.close()

        sequential_results = [
            signature(
                commit_orders(sequential.databases.writer, [sequential.order(r)], within(10))[0]
            )
            for r in requests
        ]
        assert grouped_results == sequential_results
        assert grouped.state() == sequential.state()
    finally:
        make_ledger.drop(grouped)  # type: ignore[attr-defined]
        make_ledger.drop(sequential)  # type: ignore[attr-defined]


def test_aborted_group_is_retried_and_applied_once(
    make_ledger: Callable[..., Ledger], mocker: MockerFixture
) -> None:
    ledger = make_ledger(group_commit_window_ms=50)
    real_commit = Transaction.commit
    aborts = [gexc.Aborted("injected", errors=[RuntimeError("injected")])]

    def commit(self: Transaction, *args: Any, **kwargs: Any) -> Any:
        if aborts:
            self.rollback()
            raise aborts.pop()
        return real_commit(self, *args, **kwargs)

    mocker.patch.object(Transaction, "commit", autospec=True, side_effect=commit)
    writer = ledger.writer()
    assert writer.batcher is not None
    requests = [ledger.order(transfer(f"t{i}", "wallet-1", 10)) for i in range(5)]
    futures = [writer.batcher.submit(r, deadline=time.monotonic() + 10) for r in requests]
    assert all(f.result(10).created for f in futures)
    writer.close()
    assert not aborts
    assert ledger.state()["wallet-1"][:2] == (50, 5)


def test_non_retryable_failure_of_one_item_commits_the_rest(
    make_ledger: Callable[..., Ledger], mocker: MockerFixture
) -> None:
    ledger = make_ledger(group_commit_window_ms=50)
    real_insert = transfers_repository.insert_transfers

    def insert(tx: Any, transfers: Any) -> None:
        transfers = list(transfers)
        if any(t.id == "t3" for t in transfers):
            raise gexc.FailedPrecondition("injected: this row cannot be written")
        real_insert(tx, transfers)

    mocker.patch("api.ledger.commit.transfer_rows.insert_transfers", side_effect=insert)
    writer = ledger.writer()
    assert writer.batcher is not None
    requests = [ledger.order(transfer(f"t{i}", "wallet-1", i + 1)) for i in range(6)]
    futures = [writer.batcher.submit(r, deadline=time.monotonic() + 10) for r in requests]
    outcomes = [type(f.exception(10)).__name__ if f.exception(10) else "ok" for f in futures]
    writer.close()
    assert outcomes == ["ok", "ok", "ok", "FailedPrecondition", "ok", "ok"]
    state = ledger.state()
    assert sorted(state["transfers"]) == ["t0", "t1", "t2", "t4", "t5"]
    assert state["wallet-1"][0] == 1 + 2 + 3 + 5 + 6


def test_shutdown_flushes_queued_transfers(make_ledger: Callable[..., Ledger]) -> None:
    ledger = make_ledger(group_commit_window_ms=2000)  # would linger for 2 s
    writer = ledger.writer()
    assert writer.batcher is not None
    requests = [ledger.order(transfer(f"t{i}", "wallet-2", 1)) for i in range(4)]
    futures = [writer.batcher.submit(r, deadline=time.monotonic() + 10) for r in requests]
    assert writer.close(timeout=8)
    assert all(f.result(0).created for f in futures)
    assert ledger.state()["wallet-2"][:2] == (4, 4)
