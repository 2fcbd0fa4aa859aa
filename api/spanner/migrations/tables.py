"""The bookkeeping tables, compatible with golang-migrate's spanner driver and wrench.

``SchemaMigrations (Version, Dirty)`` holds ONE row, the current version (see ``state``).

``SchemaMigrationsHistory`` has one row per version: wrench's columns (``Version, Dirty,
Created, Modified``) plus ``Name``, ``Checksum``, ``AppliedAt`` and
``StatementsCommittedAt``; a history table
created by wrench gets the extra columns added. Rows without a checksum (written by
another tool) are not verified.

``SchemaMigrationsLock (ID, LockIdentifier, Expiry)`` has one row, keyed by a NULL ID
(the shape wrench's locking fork uses; see ``lock``).
"""

from __future__ import annotations

from google.api_core import exceptions as gexc
from google.cloud.spanner_v1 import param_types
from google.cloud.spanner_v1.database import Database

from api.spanner.migrations.ddl import submit_ddl
from api.spanner.migrations.errors import MigrationError

__all__ = [
    "HISTORY_TABLE",
    "LOCK_TABLE",
    "VERSION_TABLE",
    "ensure_tables",
    "table_missing",
]

VERSION_TABLE = "SchemaMigrations"
HISTORY_TABLE = "SchemaMigrationsHistory"
LOCK_TABLE = "SchemaMigrationsLock"

_TABLES: dict[str, str] = {
    VERSION_TABLE: f"""CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
  Version INT64 NOT NULL,
  Dirty BOOL NOT NULL,
) PRIMARY KEY (Version)""",
    HISTORY_TABLE: f"""CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
  Version INT64 NOT NULL,
  Dirty BOOL NOT NULL,
  Created TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  Modified TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  Name STRING(MAX),
  Checksum STRING(64),
  AppliedAt TIMESTAMP OPTIONS (allow_commit_timestamp = true),
  StatementsCommittedAt ARRAY<TIMESTAMP>,
) PRIMARY KEY (Version)""",
    LOCK_TABLE: f"""CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (
  ID INT64,
  LockIdentifier STRING(200),
  Expiry TIMESTAMP,
) PRIMARY KEY (ID)""",
}
# Columns every runner needs; a table of that name without them is someone else's.
_REQUIRED_COLUMNS: dict[str, set[str]] = {
    VERSION_TABLE: {"Version", "Dirty"},
    HISTORY_TABLE: {"Version", "Dirty", "Created", "Modified"},
    LOCK_TABLE: {"ID", "LockIdentifier", "Expiry"},
}
# Ours on top of wrench's history table; added to a history table wrench created.
_HISTORY_EXTRA_COLUMNS = {
    "Name": "STRING(MAX)",
    "Checksum": "STRING(64)",
    "AppliedAt": "TIMESTAMP OPTIONS (allow_commit_timestamp = true)",
    # When each statement of the file took effect (the DDL operation's commit timestamps;
    # NULL for one skipped on the emulator): the event relay starts reading its change
    # stream exactly where the stream began.
    "StatementsCommittedAt": "ARRAY<TIMESTAMP>",
}


def ensure_tables(database: Database, timeout: float) -> None:
    """Create the bookkeeping tables (and wrench's history table's extra columns) if missing.

    Race-safe: ``IF NOT EXISTS``, and a concurrent runner's "Duplicate name" or
    AlreadyExists is swallowed and the check repeated.
    """
    for _ in range(5):
        columns = _existing_columns(database)
        statements = [ddl for table, ddl in _TABLES.items() if table not in columns]
        for table, required in _REQUIRED_COLUMNS.items():
            missing = required - columns.get(table, required)
            if missing:
                raise MigrationError(
                    f"table {table} exists but lacks {', '.join(sorted(missing))}: it was "
                    f"not created by this runner, wrench or golang-migrate. Rename it."
                )
        if HISTORY_TABLE in columns:
            statements += [
                f"ALTER TABLE {HISTORY_TABLE} ADD COLUMN IF NOT EXISTS {column} {kind}"
                for column, kind in _HISTORY_EXTRA_COLUMNS.items()
                if column not in columns[HISTORY_TABLE]
            ]
        if not statements:
            return
        try:
            submit_ddl(database, statements).result(timeout)
        except (gexc.AlreadyExists, gexc.FailedPrecondition) as exc:
            if not isinstance(exc, gexc.AlreadyExists) and "Duplicate name" not in str(exc):
                raise
    raise MigrationError("could not create the migration bookkeeping tables; run again")


def _existing_columns(database: Database) -> dict[str, set[str]]:
    sql = (
        "SELECT TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS "
        "WHERE TABLE_CATALOG = '' AND TABLE_SCHEMA = '' AND TABLE_NAME IN UNNEST(@tables)"
    )
    columns: dict[str, set[str]] = {}
    with database.snapshot() as snapshot:
        rows = snapshot.execute_sql(
            sql,
            params={"tables": list(_TABLES)},
            param_types={"tables": param_types.Array(param_types.STRING)},
        )
        for table, column in rows:
            columns.setdefault(table, set()).add(column)
    return columns


def table_missing(exc: gexc.GoogleAPICallError) -> bool:
    """The query failed because a bookkeeping table does not exist (yet)."""
    return "Table not found" in str(exc.message)
