"""The transaction runner: abort retries, deadlines, the write gate (fault injection)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud.spanner_v1 import param_types
from google.cloud.spanner_v1.transaction import Transaction
from pytest_mock import MockerFixture

from api.config import Settings
from api.context import RequestContext
from api.spanner.budget import Budget
from api.spanner.database import SpannerDatabase
from api.spanner.errors import DeadlinePassed
from api.spanner.transactions import abort_backoff
from api.storage import build_client, spanner_config


def aborted() -> gexc.Aborted:
    # Real Aborted errors carry their gRPC cause; the client reads errors[0].
    return gexc.Aborted("injected", errors=[RuntimeError("injected abort")])


def handle(settings: Settings) -> SpannerDatabase:
    database = SpannerDatabase(spanner_config(settings), build_client(settings))
    database.open()
    return database


def within(seconds: float) -> Budget:
    return RequestContext.starting_now(seconds).budget("test")


@pytest.fixture
def ledger(ledger_settings: Settings) -> SpannerDatabase:
    return handle(ledger_settings)


def count_transfers(ledger: SpannerDatabase, transfer_id: str) -> int:
    rows = ledger.read(
        lambda tx: tx.query(
            "SELECT COUNT(*) AS n FROM Transfers WHERE TransferId = @id",
            {"id": (transfer_id, param_types.STRING)},
        ),
        budget=within(10),
    )
    return int(rows[0]["n"])


def insert_marker(marker: str) -> Callable[[Any], str]:
    def work(tx: Any) -> str:
        tx.insert(
            "Transfers",
            ("KeyHash", "TransferId", "DebitAccountId", "CreditAccountId", "Amount",
             "Currency", "Status", "RequestHash", "CreatedAt"),
            [(1, marker, "a", "b", 1, "USD", "posted", "h", "spanner.commit_timestamp()")],
        )  # fmt: skip
        return marker

    return work


def fail_commits(mocker: MockerFixture, errors: list[Exception]) -> Any:
    """Make the next len(errors) commits raise those errors, then commit for real."""
    real_commit = Transaction.commit
    pending = list(errors)

    def commit(self: Transaction, *args: Any, **kwargs: Any) -> Any:
        if pending:
            self.rollback()
            raise pending.pop(0)
        return real_commit(self, *args, **kwargs)

    return mocker.patch.object(Transaction, "commit", autospec=True, side_effect=commit)


def test_aborted_commit_is_retried_and_applied_once(
    ledger: SpannerDatabase, mocker: MockerFixture, unique: Callable[[str], str]
) -> None:
    marker = unique("abort")
    commit = fail_commits(mocker, [aborted(), aborted()])
    committed = ledger.write(insert_marker(marker), budget=within(10))
    assert committed.value == marker
    assert commit.call_count == 3
    assert count_transfers(ledger, marker) == 1


def test_aborts_beyond_the_deadline_raise_and_write_nothing(
    ledger_settings: Settings, mocker: MockerFixture, unique: Callable[[str], str]
) -> None:
    ledger = handle(ledger_settings)
    marker = unique("abort")
    fail_commits(mocker, [aborted()] * 10_000)
    with pytest.raises(gexc.Aborted):
        ledger.write(insert_marker(marker), budget=within(0.3))
    mocker.stopall()
    assert count_transfers(ledger, marker) == 0


def test_non_retryable_error_is_not_retried(ledger: SpannerDatabase, mocker: MockerFixture) -> None:
    commit = fail_commits(mocker, [gexc.ServiceUnavailable("injected")])
    with pytest.raises(gexc.ServiceUnavailable):
        ledger.write(insert_marker("never"), budget=within(10))
    assert commit.call_count == 1


def test_write_gate_wait_is_bounded_by_the_deadline(ledger_settings: Settings) -> None:
    ledger = handle(ledger_settings.model_copy(update={"max_inflight_writes": 1}))
    gate = ledger.write_gate
    assert isinstance(gate, threading.BoundedSemaphore)
    gate.acquire()  # another request holds the only slot
    try:
        with pytest.raises(DeadlinePassed):
            ledger.write(insert_marker("gated"), budget=within(0.2))
    finally:
        gate.release()


@pytest.mark.parametrize("attempt", [1, 2, 5, 30])
def test_backoff_is_jittered_below_its_cap(attempt: int) -> None:
    delays = [abort_backoff(attempt, base_ms=2, cap_ms=200) for _ in range(200)]
    assert all(0 <= d <= min(0.2, 0.002 * 2 ** (attempt - 1)) for d in delays)
    assert len(set(delays)) > 1


def test_emulator_forces_pooled_sessions_and_one_write_in_flight(
    ledger_settings: Settings,
) -> None:
    settings = ledger_settings.model_copy(update={"session_mode": "multiplexed"})
    assert settings.effective_session_mode == "pooled"
    assert settings.effective_max_inflight_writes == 1


def test_production_defaults_are_multiplexed_with_parallel_writes() -> None:
    settings = Settings(_env_file=None, emulator_host=None)  # type: ignore[call-arg]
    assert settings.effective_session_mode == "multiplexed"
    assert settings.effective_max_inflight_writes is None
