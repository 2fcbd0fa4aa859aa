"""The accounts repository against the schema it reads."""

from __future__ import annotations

import pytest
from google.cloud import spanner

from api.accounts import repository
from api.config import Settings
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
                params={"index": repository.ENTRIES_BY_TIME},
                param_types={"index": spanner.param_types.STRING},
            )
        )
    assert key == [
        ["KeyHash", "ASC"], ["AccountId", "ASC"], ["PostedAt", "DESC"], ["Sequence", "DESC"],
    ]  # fmt: skip
