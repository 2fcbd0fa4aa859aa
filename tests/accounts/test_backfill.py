"""``python -m api.accounts.backfill``: entries written before spanner_ddl/0015 get the
totals the service writes today, and statements over them are two seeks again."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.cloud import spanner

from api.accounts.backfill import BackfillReport, backfill
from api.app import create_app
from api.ids import key_hash
from api.spanner.budget import Budget
from api.spanner.database import SpannerDatabase
from api.storage import build_client, spanner_config
from devtools.admin import drop_database
from tests.accounts.conftest import clear_totals, stored_totals
from tests.support import TEST_INSTANCE, database_handle, make_settings, run_tool

pytestmark = pytest.mark.emulator


@dataclass
class Ledger:
    """A database of its own (the backfill reads all of it), seeded through the API."""

    client: TestClient
    database_id: str
    emulator_host: str
    spanner_client: spanner.Client

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    def clear(self, account_id: str, sequences: range | list[int]) -> None:
        clear_totals(self.spanner_client, self.database_id, account_id, sequences)

    def totals(self) -> dict[tuple[str, int], tuple[int | None, int | None]]:
        return stored_totals(self.spanner_client, self.database_id)

    def backfill(self, **options: Any) -> BackfillReport:
        settings = make_settings(self.emulator_host, self.database_id, pool_size=1)
        database = SpannerDatabase(spanner_config(settings), build_client(settings))
        database.open()
        try:
            return backfill(database, budget=Budget(time.monotonic() + 60, "test"), **options)
        finally:
            database.close()


@pytest.fixture
def ledger(
    emulator: Any, ledger_database_factory: Callable[[], str], spanner_client: spanner.Client
) -> Iterator[Ledger]:
    """alice and bob paid by the bank, a hold posted in part, a reversal: every kind of
    entry, 6 of alice's."""
    database_id = ledger_database_factory()
    settings = make_settings(emulator.address, database_id)
    with TestClient(create_app(settings, configure_logs=False)) as client:
        ledger = Ledger(client, database_id, emulator.address, spanner_client)
        for account_id in ("bank", "alice", "bob"):
            ledger.post("/v1/accounts", {"id": account_id, "currency": "USD"})
        for tid, debit, credit, amount in [
            ("t1", "bank", "alice", 1000), ("t2", "alice", "bob", 300), ("t3", "bank", "bob", 50),
        ]:  # fmt: skip
            body = {"id": tid, "debit_account_id": debit, "credit_account_id": credit}
            ledger.post("/v1/transfers", {**body, "amount": amount})
        hold = {"id": "h1", "debit_account_id": "alice", "credit_account_id": "bob"}
        ledger.post("/v1/transfers", {**hold, "amount": 200, "pending": True})
        ledger.post("/v1/transfers/h1:post", {"amount": 120})
        ledger.post("/v1/transfers/t2:reverse", {"id": "t2-back", "amount": 100})
        ledger.post("/v1/transfers", {"id": "t4", "debit_account_id": "alice",
                                      "credit_account_id": "bank", "amount": 5})  # fmt: skip
        yield ledger
    drop_database(spanner_client, TEST_INSTANCE, database_id)


ALICE = range(1, 7)


@pytest.mark.parametrize(
    "cleared", [list(ALICE), [2, 3, 5]], ids=["every entry", "entries between totalled ones"]
)
def test_the_backfill_writes_the_totals_the_service_writes(
    ledger: Ledger, cleared: list[int]
) -> None:
    written = ledger.totals()
    ledger.clear("alice", cleared)
    ledger.clear("bank", [1])
    report = ledger.backfill(window=2)  # windows of two: each starts from the one before
    assert (report.accounts, report.filled, report.refused) == (2, len(cleared) + 1, {})
    assert ledger.totals() == written


def test_a_statement_over_backfilled_entries_reads_two_entries(
    ledger: Ledger, entry_rows_read: Counter[str]
) -> None:
    ledger.clear("alice", ALICE)
    ledger.backfill()
    entry_rows_read.clear()
    response = ledger.client.get(
        "/v1/accounts/alice/statement", params={"from": "2000-01-01T00:00:00Z"}
    )
    s = response.json()
    assert (s["debits"], s["credits"], s["entry_count"]) == (300 + 120 + 5, 1000 + 100, 6)
    assert sum(entry_rows_read.values()) == 1  # the last entry (none before 2000)


def test_an_account_whose_totals_disagree_with_its_amounts_is_left_alone(
    ledger: Ledger,
) -> None:
    ledger.clear("alice", [1, 2])
    ledger.clear("bank", [1])
    h = key_hash("alice")
    with database_handle(ledger.spanner_client, ledger.database_id).batch() as batch:
        batch.update("Entries", ["KeyHash", "AccountId", "Sequence", "DebitsAfter"],
                     [[h, "alice", 3, 999]])  # fmt: skip
    report = ledger.backfill()
    assert report.filled == 1  # bank's
    assert report.refused == {
        "alice": "entry 3 stores debits 999 and credits 1000 after it; its amounts sum to "
        "300 and 1000"
    }
    assert ledger.totals()[("alice", 1)] == (None, None)


def run(
    ledger: Ledger, *args: str, database: str | None = None
) -> subprocess.CompletedProcess[str]:
    database = database or ledger.database_id
    return run_tool("api.accounts.backfill", ledger.emulator_host, database, *args)


def test_the_command_exits_0_saying_what_it_filled(ledger: Ledger) -> None:
    ledger.clear("alice", ALICE)
    done = run(ledger)
    assert (done.returncode, done.stdout) == (0, "filled the totals of 6 entries of 1 accounts\n")
    assert run(ledger).stdout == "filled the totals of 0 entries of 0 accounts\n"


def test_the_command_exits_2_when_the_database_is_not_there(ledger: Ledger) -> None:
    done = run(ledger, database="no-such-database")
    assert (done.returncode, done.stdout) == (2, "")
    assert "error: Spanner" in done.stderr
