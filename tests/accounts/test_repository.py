"""The accounts repository against the schema it reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from google.cloud import spanner

from api.accounts import entries_repository, repository
from api.config import Settings
from api.spanner.budget import Budget
from api.spanner.database import SpannerDatabase
from api.spanner.tx import Tx
from api.storage import build_client, spanner_config
from tests.support import database_handle

pytestmark = pytest.mark.emulator


def test_the_history_index_orders_the_entries_of_one_commit_last_first(
    ledger_settings: Settings, spanner_client: spanner.Client
) -> None:
    """One commit may move an account many times: its entries share one PostedAt, and
    "the last entry at or before T" must be the last of them. The index that history
    reads names that order itself instead of leaving it to how Spanner appends the
    table's key to an index's."""
    with database_handle(spanner_client, ledger_settings.spanner_database).snapshot() as tx:
        key = list(
            tx.execute_sql(
                "SELECT COLUMN_NAME, COLUMN_ORDERING FROM INFORMATION_SCHEMA.INDEX_COLUMNS"
                " WHERE TABLE_NAME = 'Entries' AND INDEX_NAME = @index"
                " AND ORDINAL_POSITION IS NOT NULL ORDER BY ORDINAL_POSITION",
                params={"index": entries_repository.ENTRIES_BY_TIME},
                param_types={"index": spanner.param_types.STRING},
            )
        )
    assert key == [
        ["KeyHash", "ASC"], ["AccountId", "ASC"], ["PostedAt", "DESC"], ["Sequence", "DESC"],
    ]  # fmt: skip


@pytest.mark.parametrize("later", [timedelta(0), timedelta(seconds=2), timedelta(days=400)])
def test_the_last_entry_before_an_instant_is_found_however_far_back_it_lies(
    client: TestClient,
    unique: Callable[[str], str],
    ledger_settings: Settings,
    later: timedelta,
) -> None:
    """The look-back windows start at a few of the account's average gaps and grow: an
    instant long after the account's last entry still finds it, in a few reads."""
    bank, alice = unique("bank"), unique("alice")
    for account_id in (bank, alice):
        client.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
    for amount in (5, 7):
        body = {"id": unique("t"), "debit_account_id": bank, "credit_account_id": alice}
        response = client.post("/v1/transfers", json={**body, "amount": amount})
    last = datetime.fromisoformat(response.json()["created_at"])

    def position(tx: Tx) -> entries_repository.Position:
        account = repository.read_account(tx, alice)
        assert account is not None
        return entries_repository.position_at(tx, account, last + later, inclusive=True)

    database = SpannerDatabase(spanner_config(ledger_settings), build_client(ledger_settings))
    try:
        found, _ = database.read_consistent(position, budget=Budget(time.monotonic() + 30, "test"))
    finally:
        database.close()
    assert found == entries_repository.Position(
        2, 12, entries_repository.Totals(debits=0, credits=12)
    )
