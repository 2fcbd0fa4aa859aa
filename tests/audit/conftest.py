"""A ledger seeded through the real HTTP API, audited whole, and copies of it to damage.

The seed is made once per module; each test that damages the ledger gets a copy of it
in a database of its own (dropped after the test: the emulator holds at most 100
databases per instance). The copy is what a restore gives: the same rows in a new
database with the current schema.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.cloud import spanner

from api.app import create_app
from api.audit import AuditReport, run_audit
from api.spanner.budget import Budget
from api.spanner.database import SpannerDatabase
from api.storage import build_client, spanner_config
from devtools.admin import drop_database
from tests.support import TEST_INSTANCE, database_handle, make_settings

# What the audit reads, parents before their interleaved children.
LEDGER_TABLES = ("Accounts", "Entries", "Transfers", "Transactions")


def _seed(client: TestClient) -> None:
    def post(path: str, body: dict[str, Any]) -> None:
        response = client.post(path, json=body)
        assert response.status_code in (200, 201), response.text

    for account_id, currency in [
        ("bank", "USD"), ("alice", "USD"), ("bob", "USD"), ("shop", "USD"),
        ("eur-bank", "EUR"), ("carol", "EUR"),
    ]:  # fmt: skip
        post("/v1/accounts", {"id": account_id, "currency": currency})

    def move(tid: str, debit: str, credit: str, amount: int, **extra: Any) -> None:
        body = {"id": tid, "debit_account_id": debit, "credit_account_id": credit}
        post("/v1/transfers", {**body, "amount": amount, **extra})

    move("fund-alice", "bank", "alice", 1000)
    move("fund-bob", "bank", "bob", 500)
    move("alice-pays-bob", "alice", "bob", 300)
    move("refund", "alice", "shop", 120)
    post("/v1/transfers/refund:reverse", {"id": "refund-back", "amount": 20})
    move("hold-open", "alice", "shop", 200, pending=True)
    move("hold-posted", "bob", "shop", 50, pending=True)
    post("/v1/transfers/hold-posted:post", {"amount": 30})
    move("hold-voided", "bob", "alice", 40, pending=True)
    post("/v1/transfers/hold-voided:void", {})
    legs = [
        {"debit_account_id": "alice", "credit_account_id": "shop", "amount": 90},
        {"debit_account_id": "shop", "credit_account_id": "bank", "amount": 9},
        {"debit_account_id": "bob", "credit_account_id": "alice", "amount": 11},
    ]
    post("/v1/transactions", {"id": "purchase", "legs": legs})
    post("/v1/transactions", {"id": "pending-purchase", "legs": legs[:2], "pending": True})
    move("fund-carol", "eur-bank", "carol", 700)
    post("/v1/transfers/fund-carol:reverse", {"id": "carol-back"})


@dataclass(frozen=True)
class Ledger:
    """A database of the test instance, and the means to audit and damage it."""

    database_id: str
    emulator_host: str
    spanner_client: spanner.Client

    def audit(self, **options: Any) -> AuditReport:
        settings = make_settings(self.emulator_host, self.database_id, pool_size=1)
        database = SpannerDatabase(spanner_config(settings), build_client(settings))
        database.open()
        try:
            budget = Budget(deadline=time.monotonic() + 60, tag="action=audit")
            return run_audit(database, budget=budget, where=self.database_id, **options)
        finally:
            database.close()

    def kinds(self, **options: Any) -> set[tuple[str, str]]:
        """(kind, subject id) of every finding."""
        return {(f.kind, f.id) for f in self.audit(**options).findings}

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        types = {k: _param_type(v) for k, v in (params or {}).items()}
        with self.handle().snapshot() as snapshot:
            return [list(row) for row in snapshot.execute_sql(sql, params, types)]

    def handle(self) -> Any:
        return database_handle(self.spanner_client, self.database_id)


def _param_type(value: object) -> Any:
    return spanner.param_types.INT64 if isinstance(value, int) else spanner.param_types.STRING


@pytest.fixture(scope="module")
def seeded(
    emulator: Any,
    ledger_database_factory: Callable[[], str],
    spanner_client: spanner.Client,
) -> Iterator[Ledger]:
    database_id = ledger_database_factory()
    settings = make_settings(emulator.address, database_id)
    with TestClient(create_app(settings, configure_logs=False)) as client:
        _seed(client)
    yield Ledger(database_id, emulator.address, spanner_client)
    drop_database(spanner_client, TEST_INSTANCE, database_id)


@pytest.fixture
def damaged(
    seeded: Ledger, ledger_database_factory: Callable[[], str], spanner_client: spanner.Client
) -> Iterator[Ledger]:
    """A copy of the seeded ledger, for one test to damage."""
    copy = Ledger(ledger_database_factory(), seeded.emulator_host, spanner_client)
    _copy_rows(seeded.handle(), copy.handle())
    yield copy
    drop_database(spanner_client, TEST_INSTANCE, copy.database_id)


def _copy_rows(source: Any, target: Any) -> None:
    with source.snapshot(multi_use=True) as snapshot:
        tables = []
        for table in LEDGER_TABLES:
            # Generated columns (Transfers.CreatedShard) are computed, never written.
            columns = [
                name
                for (name,) in snapshot.execute_sql(
                    "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = @t"
                    " AND IS_GENERATED = 'NEVER' ORDER BY ORDINAL_POSITION",
                    params={"t": table},
                    param_types={"t": spanner.param_types.STRING},
                )
            ]
            rows = list(snapshot.read(table, columns, spanner.KeySet(all_=True)))
            tables.append((table, columns, rows))
    with target.batch() as batch:
        for table, columns, rows in tables:
            batch.insert(table, columns, rows)
