"""``force VERSION``: record a version as applied and clean after a repair by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.cloud.spanner_v1 import KeyRange, KeySet
from google.cloud.spanner_v1.database import Database

from api.spanner.migrations.errors import MigrationError
from api.spanner.migrations.files import load_migrations
from api.spanner.migrations.state import State, read_state, record_applied, set_version
from api.spanner.migrations.tables import HISTORY_TABLE, ensure_tables

__all__ = ["force_version"]


def force_version(
    database: Database,
    ddl_dir: Path,
    version: int,
    *,
    out: Callable[[str], None] = print,
    timeout: float = 600.0,
) -> None:
    """Record ``version`` as applied and clean, like ``migrate force`` (0: nothing applied).

    For after a failed run, once the schema was checked by hand. History rows above
    ``version`` are removed, so those files run again on the next ``up``; the row of
    ``version`` records the file as it is now. Refused while another runner holds the lock.
    """
    migrations = load_migrations(ddl_dir)
    latest = migrations[-1].version if migrations else 0
    if not 0 <= version <= latest:
        raise MigrationError(
            f"cannot force version {version}: the files go from 1 to {latest} "
            f"(0 means nothing applied)"
        )
    target = next((m for m in migrations if m.version == version), None)
    ensure_tables(database, timeout)

    def force_tx(tx: Any) -> State:
        state = read_state(tx)
        if state.lock.held:
            raise MigrationError(
                f"a migration runner ({state.lock.owner}) holds the lock until "
                f"{state.lock.expiry:%Y-%m-%d %H:%M:%S} UTC: wait for it to finish (or, if it "
                f"crashed, for the lock to expire), then force again."
            )
        set_version(tx, version or None, dirty=False)
        tx.delete(HISTORY_TABLE, KeySet(ranges=[KeyRange(start_open=[version])]))
        if target is not None:
            existing = list(tx.read(HISTORY_TABLE, ["Version"], KeySet(keys=[[version]])))
            record_applied(tx, target, new=not existing)
        return state

    before = database.run_in_transaction(force_tx)
    was = f"{before.version}{' (dirty)' if before.dirty else ''}" if before.version else "none"
    now = f"{version} ({target.filename})" if target else "none (nothing applied)"
    out(f"forced: version {now}, clean; was {was}")
