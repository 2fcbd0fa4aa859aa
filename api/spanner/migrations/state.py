"""The schema state: which version the database is at, whether it is dirty, what history says.

``SchemaMigrations`` holds ONE row, the current version, written as delete-all + insert
like golang-migrate and wrench do. A version is marked dirty before its DDL is sent and
clean after it succeeded; a dirty version left by a failed or crashed run stops every
later run until someone inspects the schema and runs ``force VERSION`` (as ``migrate
force``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud.spanner_v1 import COMMIT_TIMESTAMP, KeySet, param_types
from google.cloud.spanner_v1.database import Database

from api.spanner.migrations.errors import ChecksumMismatchError, MigrationError
from api.spanner.migrations.files import Migration, load_migrations
from api.spanner.migrations.lock import LockState
from api.spanner.migrations.tables import HISTORY_TABLE, VERSION_TABLE, table_missing

__all__ = [
    "SchemaStatus",
    "State",
    "read_applied_times",
    "read_history",
    "read_state",
    "read_version",
    "record_applied",
    "record_claimed",
    "schema_status",
    "set_version",
    "verify",
    "verify_applied_files",
]

# Table names are spelled out (not interpolated): these are fixed, trusted strings.
_STATE_SQL = """SELECT CURRENT_TIMESTAMP(),
  (SELECT Version FROM SchemaMigrations ORDER BY Version DESC LIMIT 1),
  (SELECT Dirty FROM SchemaMigrations ORDER BY Version DESC LIMIT 1),
  (SELECT LockIdentifier FROM SchemaMigrationsLock WHERE ID IS NULL),
  (SELECT Expiry FROM SchemaMigrationsLock WHERE ID IS NULL)"""
_VERSION_SQL = "SELECT Version, Dirty FROM SchemaMigrations ORDER BY Version DESC LIMIT 1"
_HISTORY_SQL = "SELECT Version, Name, Checksum, Dirty FROM SchemaMigrationsHistory ORDER BY Version"

_HISTORY_COLUMNS = ["Version", "Dirty", "Created", "Modified", "Name", "Checksum", "AppliedAt"]

HistoryRow = tuple[int, str | None, str | None, bool]  # version, name, checksum, dirty


@dataclass(frozen=True)
class SchemaStatus:
    current_version: int | None  # None: nothing applied (or no SchemaMigrations table)
    dirty: bool
    latest_version: int  # newest file; 0 when there are none
    pending: list[Migration]  # not applied cleanly: newer than current, or current if dirty

    @property
    def is_current(self) -> bool:
        """Every file this code knows is applied and nothing is dirty.

        A database ahead of the files (a newer revision migrated it) counts as current.
        """
        return not self.dirty and not self.pending


@dataclass(frozen=True)
class State:
    """Version, dirty flag and lock, read together in one query on Spanner's clock."""

    now: datetime
    version: int | None
    dirty: bool
    lock: LockState

    def held_by_other(self, owner: str) -> bool:
        return self.lock.held and self.lock.owner != owner


def schema_status(database: Database, ddl_dir: Path) -> SchemaStatus:
    """Where the database stands against the files: one small strong read.

    Cheap enough for ``/readyz``; does not verify checksums (``up`` and ``status`` do).
    """
    migrations = load_migrations(ddl_dir)
    version, dirty = read_version(database)
    applied = (version or 0) - (1 if dirty else 0)
    return SchemaStatus(
        current_version=version,
        dirty=dirty,
        latest_version=migrations[-1].version if migrations else 0,
        pending=[m for m in migrations if m.version > applied],
    )


def verify_applied_files(database: Database, ddl_dir: Path) -> None:
    """Refuse if an applied file was edited or vanished (read-only)."""
    migrations = load_migrations(ddl_dir)
    version, _ = read_version(database)
    verify(migrations, version, read_history(database), Path(ddl_dir))


def read_version(database: Database) -> tuple[int | None, bool]:
    """(current version or None, dirty), strongly read; nothing applied if no table."""
    try:
        with database.snapshot() as snapshot:
            rows = list(snapshot.execute_sql(_VERSION_SQL))
    except gexc.InvalidArgument as exc:
        if table_missing(exc):
            return None, False
        raise
    if not rows:
        return None, False
    version, dirty = rows[0]
    # golang-migrate writes -1 (its NilVersion) for "dirty before the first file".
    return (version if version > 0 else None), bool(dirty)


def read_history(database: Database) -> list[HistoryRow]:
    """The history table's rows by version; none if it does not exist yet."""
    try:
        with database.snapshot() as snapshot:
            return [
                (row[0], row[1], row[2], bool(row[3])) for row in snapshot.execute_sql(_HISTORY_SQL)
            ]
    except gexc.InvalidArgument as exc:
        if table_missing(exc):
            return []
        raise


def read_state(reader: Any) -> State:
    """The ``State`` as seen by ``reader``, a snapshot or a read-write transaction."""
    now, version, dirty, owner, expiry = next(iter(reader.execute_sql(_STATE_SQL)))
    return State(
        now=now,
        version=version if version is not None and version > 0 else None,
        dirty=bool(dirty),
        lock=LockState(owner=owner, expiry=expiry, now=now),
    )


def verify(
    migrations: Sequence[Migration],
    version: int | None,
    history: Sequence[HistoryRow],
    ddl_dir: Path,
) -> None:
    """Refuse if an applied file was edited, renamed or removed, or the database is ahead."""
    by_version = {m.version: m for m in migrations}
    for applied, name, checksum, dirty in history:
        if dirty:
            continue  # being applied, or left dirty: the version check speaks for it
        migration = by_version.get(applied)
        if migration is None:
            raise MigrationError(
                f"{name or f'version {applied}'} was applied to the database but is no "
                f"longer in {ddl_dir}: restore it (applied migrations are never deleted)."
            )
        if name and name != migration.filename:
            raise MigrationError(
                f"version {applied} was applied as {name}, but the file is now "
                f"{migration.filename}: rename it back."
            )
        if checksum and checksum != migration.checksum:
            raise ChecksumMismatchError(migration.filename, checksum, migration.checksum)
    latest = migrations[-1].version if migrations else 0
    if version is not None and version > latest:
        raise MigrationError(
            f"the database is at version {version} but the newest file in {ddl_dir} is "
            f"version {latest}: a migration file is missing, or this code is older than "
            f"the database."
        )


def set_version(tx: Any, version: int | None, *, dirty: bool) -> None:
    """golang-migrate's and wrench's way: delete every row, insert the one."""
    tx.delete(VERSION_TABLE, KeySet(all_=True))
    if version is not None:
        tx.insert(VERSION_TABLE, columns=["Version", "Dirty"], values=[[version, dirty]])


def record_claimed(tx: Any, migration: Migration) -> None:
    """Buffer ``migration``'s history row as being applied: dirty, no AppliedAt."""
    tx.insert_or_update(
        HISTORY_TABLE,
        columns=_HISTORY_COLUMNS,
        values=[_history_row(migration, dirty=True, applied_at=None)],
    )


def record_applied(
    tx: Any,
    migration: Migration,
    *,
    new: bool = False,
    committed_at: Sequence[datetime | None] = (),
) -> None:
    """Buffer ``migration``'s history row as applied and clean; ``new``: it has no row yet.
    ``committed_at``: when each of its statements took effect, if known."""
    if new:
        row = _history_row(migration, dirty=False, applied_at=COMMIT_TIMESTAMP)
        tx.insert(HISTORY_TABLE, columns=_HISTORY_COLUMNS, values=[row])
        return
    tx.update(  # Created stays as the claim wrote it
        HISTORY_TABLE,
        columns=[
            "Version", "Dirty", "Modified", "Name", "Checksum", "AppliedAt",
            "StatementsCommittedAt",
        ],
        values=[
            [
                migration.version,
                False,
                COMMIT_TIMESTAMP,
                migration.filename,
                migration.checksum,
                COMMIT_TIMESTAMP,
                list(committed_at) or None,
            ]
        ],
    )  # fmt: skip


def read_applied_times(
    database: Database, version: int
) -> tuple[datetime | None, list[datetime | None]]:
    """When ``version`` was recorded as applied (None: it is not), and when each of its
    statements took effect, in file order, as far as the runner recorded them (none for
    a file applied by another tool, or before the runner recorded them)."""
    sql = (
        "SELECT AppliedAt, StatementsCommittedAt FROM SchemaMigrationsHistory "
        "WHERE Version = @version AND NOT Dirty"
    )
    try:
        with database.snapshot() as snapshot:
            rows = list(
                snapshot.execute_sql(
                    sql, params={"version": version}, param_types={"version": param_types.INT64}
                )
            )
    except gexc.InvalidArgument as exc:
        if table_missing(exc):
            return None, []
        raise
    if not rows:
        return None, []
    applied_at, committed_at = rows[0]
    return applied_at, list(committed_at or ())


def _history_row(migration: Migration, *, dirty: bool, applied_at: Any) -> list[Any]:
    return [
        migration.version,
        dirty,
        COMMIT_TIMESTAMP,
        COMMIT_TIMESTAMP,
        migration.filename,
        migration.checksum,
        applied_at,
    ]
