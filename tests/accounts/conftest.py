"""What the history and backfill tests share: counting the entry rows the app reads, and
making entries look as if written before spanner_ddl/0015 (no totals)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from google.cloud import spanner

from api.ids import key_hash
from api.spanner.tx import Tx
from tests.support import database_handle


@pytest.fixture
def entry_rows_read(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Rows of Entries (and its indexes) the app's range reads return, by index ("":
    the table). The database is real; only the counting is added."""
    counted: Counter[str] = Counter()
    read_range = Tx.read_range

    def counting(self: Tx, table: str, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        rows = read_range(self, table, *args, **kwargs)
        if table == "Entries":
            counted[kwargs.get("index", "")] += len(rows)
        return rows

    monkeypatch.setattr(Tx, "read_range", counting)
    return counted


TOTALS = ("DebitsAfter", "CreditsAfter")


def clear_totals(
    client: spanner.Client, database_id: str, account_id: str, sequences: Iterable[int]
) -> None:
    """The entries as written before spanner_ddl/0015, or by a revision older than it."""
    h = key_hash(account_id)
    with database_handle(client, database_id).batch() as batch:
        batch.update(
            "Entries",
            ["KeyHash", "AccountId", "Sequence", *TOTALS],
            [[h, account_id, s, None, None] for s in sequences],
        )


def stored_totals(
    client: spanner.Client, database_id: str
) -> dict[tuple[str, int], tuple[int | None, int | None]]:
    """(account, sequence) -> (DebitsAfter, CreditsAfter) of every entry."""
    with database_handle(client, database_id).snapshot() as snapshot:
        rows = snapshot.read(
            "Entries", ["AccountId", "Sequence", *TOTALS], spanner.KeySet(all_=True)
        )
        return {(a, s): (d, c) for a, s, d, c in rows}
