"""The migration lock: one row of ``SchemaMigrationsLock``, leased, on Spanner's clock.

A runner takes it in the same read-write transaction that marks a version dirty, renews
it while Spanner works on a long operation, and releases it when done. Expiry is
measured with Spanner's own clock (``CURRENT_TIMESTAMP()``), never the runner's. So:

- dirty and the lock held (not expired) by another runner: that runner is working;
  wait and poll until it is done (up to ``lock_timeout``);
- dirty and the lock free or expired: a run failed or crashed; refuse
  (``DirtyDatabaseError``) with what to do.

Two runners at once (threads, processes, machines) therefore apply each file once: the
second waits, then finds the versions applied.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud.spanner_v1 import param_types
from google.cloud.spanner_v1.database import Database

from api.spanner.migrations.tables import LOCK_TABLE, table_missing

__all__ = ["LockState", "MigrationLock", "read_lock"]

# Table names are spelled out (not interpolated): these are fixed, trusted strings.
_LOCK_SQL = """SELECT CURRENT_TIMESTAMP(),
  (SELECT LockIdentifier FROM SchemaMigrationsLock WHERE ID IS NULL),
  (SELECT Expiry FROM SchemaMigrationsLock WHERE ID IS NULL)"""
_RENEW_SQL = """UPDATE SchemaMigrationsLock
SET Expiry = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @seconds SECOND)
WHERE ID IS NULL AND LockIdentifier = @owner"""
_RELEASE_SQL = """UPDATE SchemaMigrationsLock SET LockIdentifier = NULL, Expiry = NULL
WHERE ID IS NULL AND LockIdentifier = @owner"""


@dataclass(frozen=True)
class LockState:
    owner: str | None
    expiry: datetime | None
    now: datetime  # Spanner's clock when read

    @property
    def held(self) -> bool:
        return self.owner is not None and self.expiry is not None and self.expiry > self.now


def read_lock(database: Database) -> LockState | None:
    """The migration lock as Spanner sees it now; None if the lock table is missing."""
    try:
        with database.snapshot() as snapshot:
            now, owner, expiry = next(iter(snapshot.execute_sql(_LOCK_SQL)))
    except gexc.InvalidArgument as exc:
        if table_missing(exc):
            return None
        raise
    return LockState(owner=owner, expiry=expiry, now=now)


class MigrationLock:
    """One runner's claim on the lock: its identity, its lease, renewing, releasing."""

    def __init__(
        self, database: Database, *, lease_seconds: int, out: Callable[[str], None]
    ) -> None:
        self.database = database
        self.lease = timedelta(seconds=lease_seconds)
        self.out = out
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[-200:]
        self.taken = False  # a transaction that took it committed: release it at the end

    def hold(self, tx: Any, now: datetime) -> None:
        """Buffer the lock row as ours for a lease from ``now`` (Spanner's clock)."""
        tx.insert_or_update(
            LOCK_TABLE,
            columns=["ID", "LockIdentifier", "Expiry"],
            values=[[None, self.owner, now + self.lease]],
        )

    def renew(self) -> None:
        def renew(tx: Any) -> None:
            tx.execute_update(
                _RENEW_SQL,
                params={"owner": self.owner, "seconds": int(self.lease.total_seconds())},
                param_types={"owner": param_types.STRING, "seconds": param_types.INT64},
            )

        self.database.run_in_transaction(renew)

    def release(self) -> None:
        if not self.taken:
            return

        def release(tx: Any) -> None:
            tx.execute_update(
                _RELEASE_SQL,
                params={"owner": self.owner},
                param_types={"owner": param_types.STRING},
            )

        try:
            self.database.run_in_transaction(release)
        except gexc.GoogleAPICallError as exc:
            self.out(
                f"warning: could not release the migration lock ({exc.message}); "
                f"it expires by itself"
            )
