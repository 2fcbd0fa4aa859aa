"""Starting a schema change on a database that may be busy with another."""

from __future__ import annotations

import time
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud.spanner_v1.database import Database

__all__ = ["submit_ddl"]


def submit_ddl(database: Database, statements: list[str], *, patience: float = 60.0) -> Any:
    """Start a DDL operation, waiting out a schema change or transaction in progress.

    The emulator runs one schema change or read-write transaction at a time and refuses
    a schema change that overlaps another one ("Schema change operation rejected because
    a concurrent schema change operation or read-write transaction is already in
    progress"), e.g. another runner polling for the lock. Nothing was applied then.
    """
    deadline = time.monotonic() + patience
    delay = 0.05
    while True:
        try:
            return database.update_ddl(statements)
        except gexc.FailedPrecondition as exc:
            if "concurrent" not in str(exc.message) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
