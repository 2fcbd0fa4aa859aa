"""Apply ``spanner_ddl/NNNN_name.sql`` to a Spanner database, in order, exactly once.

Files
    ``NNNN_name.sql``: four digits (the version, from 0001, no gaps, no duplicates), then
    lowercase letters, digits and ``_``. Each file is split into statements (comments
    removed, see ``splitter``) and applied as ONE ``UpdateDatabaseDdl`` batch. A file is
    never edited once applied: its sha256 is recorded and checked on every run.

Fine-grained access control
    The emulator rejects ``CREATE/ALTER/DROP ROLE``, ``GRANT`` and ``REVOKE``. A file that
    holds any of them must say so on its very first line::

        -- requires: fine-grained-access-control

    On the emulator (``emulator=True``) those statements are skipped with a notice and
    the rest of the file is applied; the file counts as applied. On Cloud Spanner they
    run like any other. Such a statement in a file without the marker is refused
    everywhere, so a file that works on Spanner also works locally and vice versa.

Bookkeeping (compatible with golang-migrate's spanner driver and wrench)
    ``SchemaMigrations (Version, Dirty)`` holds ONE row, the current version, written
    as delete-all + insert like migrate and wrench do. A version is marked dirty before
    its DDL is sent and clean after it succeeded; a dirty version left by a failed or
    crashed run stops every later run until someone inspects the schema and runs
    ``python -m api.spanner.migrations force VERSION`` (as ``migrate force``).

    ``SchemaMigrationsHistory`` has one row per version: wrench's columns (``Version,
    Dirty, Created, Modified``) plus ``Name``, ``Checksum`` and ``AppliedAt``; a history
    table created by wrench gets the three extra columns added. Rows without a checksum
    (written by another tool) are not verified.

    ``SchemaMigrationsLock (ID, LockIdentifier, Expiry)`` has one row, keyed by a NULL
    ID (the shape wrench's locking fork uses). A runner takes it in the same read-write
    transaction that marks a version dirty, renews it while Spanner works on a long
    operation, and releases it when done. Expiry is measured with Spanner's own clock
    (``CURRENT_TIMESTAMP()``), never the runner's. So:

    - dirty and the lock held (not expired) by another runner: that runner is working;
      wait and poll until it is done (up to ``lock_timeout``);
    - dirty and the lock free or expired: a run failed or crashed; refuse
      (``DirtyDatabaseError``) with what to do.

    Two runners at once (threads, processes, machines) therefore apply each file once:
    the second waits, then finds the versions applied.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from google.api_core import exceptions as gexc
from google.cloud.spanner_v1 import COMMIT_TIMESTAMP, KeyRange, KeySet, param_types
from google.cloud.spanner_v1.database import Database

from api.spanner.migrations.splitter import SplitError, split_statements

__all__ = [
    "CLI",
    "FGAC_MARKER",
    "HISTORY_TABLE",
    "LOCK_TABLE",
    "VERSION_TABLE",
    "ChecksumMismatchError",
    "DirtyDatabaseError",
    "LockState",
    "LockTimeoutError",
    "Migration",
    "MigrationError",
    "SchemaStatus",
    "apply_migrations",
    "force_version",
    "is_fgac_statement",
    "load_migrations",
    "read_lock",
    "schema_status",
    "verify_applied_files",
]

CLI = "python -m api.spanner.migrations"
VERSION_TABLE = "SchemaMigrations"
HISTORY_TABLE = "SchemaMigrationsHistory"
LOCK_TABLE = "SchemaMigrationsLock"
FGAC_MARKER = "-- requires: fine-grained-access-control"

FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_MARKER_LINE = re.compile(r"^--\s*requires:\s*fine-grained-access-control\s*$", re.IGNORECASE)
_FGAC_STATEMENT = re.compile(r"^(?:GRANT|REVOKE)\b|^(?:CREATE|ALTER|DROP)\s+ROLE\b", re.IGNORECASE)

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
}

# Table names are spelled out (not interpolated): these are fixed, trusted strings.
_STATE_SQL = """SELECT CURRENT_TIMESTAMP(),
  (SELECT Version FROM SchemaMigrations ORDER BY Version DESC LIMIT 1),
  (SELECT Dirty FROM SchemaMigrations ORDER BY Version DESC LIMIT 1),
  (SELECT LockIdentifier FROM SchemaMigrationsLock WHERE ID IS NULL),
  (SELECT Expiry FROM SchemaMigrationsLock WHERE ID IS NULL)"""
_VERSION_SQL = "SELECT Version, Dirty FROM SchemaMigrations ORDER BY Version DESC LIMIT 1"
_LOCK_SQL = """SELECT CURRENT_TIMESTAMP(),
  (SELECT LockIdentifier FROM SchemaMigrationsLock WHERE ID IS NULL),
  (SELECT Expiry FROM SchemaMigrationsLock WHERE ID IS NULL)"""
_HISTORY_SQL = "SELECT Version, Name, Checksum, Dirty FROM SchemaMigrationsHistory ORDER BY Version"
_RENEW_SQL = """UPDATE SchemaMigrationsLock
SET Expiry = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @seconds SECOND)
WHERE ID IS NULL AND LockIdentifier = @owner"""
_RELEASE_SQL = """UPDATE SchemaMigrationsLock SET LockIdentifier = NULL, Expiry = NULL
WHERE ID IS NULL AND LockIdentifier = @owner"""
_HISTORY_COLUMNS = ["Version", "Dirty", "Created", "Modified", "Name", "Checksum", "AppliedAt"]

Out = Callable[[str], None]


# --- errors ---------------------------------------------------------------------


class MigrationError(Exception):
    """A run was refused or failed; the message says why and what to do."""


class DirtyDatabaseError(MigrationError):
    """A version was left dirty by a failed or crashed run and no runner is on it."""

    def __init__(self, version: int, filename: str | None) -> None:
        self.version = version
        self.filename = filename
        what = filename or f"version {version}"
        super().__init__(
            f"the database is dirty at version {version} ({what}): a run failed or "
            f"crashed while applying it and no runner holds the migration lock. "
            + _repair_hint(version, filename)
        )


class ChecksumMismatchError(MigrationError):
    """An applied file was edited afterwards."""

    def __init__(self, filename: str, recorded: str, actual: str) -> None:
        self.filename = filename
        super().__init__(
            f"{filename} was edited after it was applied (recorded sha256 {recorded[:12]}…, "
            f"file now {actual[:12]}…). Applied migrations are never edited: restore "
            f"{filename} as it was (git log -p -- {filename}) and put the change in a "
            f"new file."
        )


class LockTimeoutError(MigrationError):
    """Another runner held the lock for longer than this one was willing to wait."""


def _repair_hint(version: int, filename: str | None) -> str:
    if version < 1:
        return f"Inspect the schema, then run `{CLI} force 0` and `{CLI} up` again."
    what = filename or f"version {version}"
    return (
        f"Spanner applies a file's statements one by one, so some of {what} may be in "
        f"place. Inspect the schema (gcloud spanner databases ddl describe DATABASE "
        f"--instance=INSTANCE), fix it by hand so that {what} is either fully applied "
        f"or not at all, then run `{CLI} force {version}` (fully applied) or "
        f"`{CLI} force {version - 1}` (not applied), and run `{CLI} up` again."
    )


# --- files ----------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # "ledger" for 0001_ledger.sql
    path: Path
    checksum: str  # sha256 hex of the file's bytes
    statements: tuple[str, ...]
    requires_fgac: bool = False  # the file starts with FGAC_MARKER

    @property
    def filename(self) -> str:
        return self.path.name

    def statements_for(self, *, emulator: bool) -> tuple[list[str], list[str]]:
        """(statements to send, FGAC statements skipped) for this target."""
        if not (emulator and self.requires_fgac):
            return list(self.statements), []
        send = [s for s in self.statements if not is_fgac_statement(s)]
        skipped = [s for s in self.statements if is_fgac_statement(s)]
        return send, skipped


def is_fgac_statement(statement: str) -> bool:
    """CREATE/ALTER/DROP ROLE, GRANT or REVOKE (comment-free, as the splitter returns)."""
    return bool(_FGAC_STATEMENT.match(statement.lstrip()))


def load_migrations(ddl_dir: Path) -> list[Migration]:
    """Every ``NNNN_name.sql`` of ``ddl_dir``, in version order, validated.

    Raises ``MigrationError`` for a missing directory, a badly named ``.sql`` file,
    duplicate or missing versions, a file that cannot be split or holds no statement,
    and fine-grained access control statements in a file without the marker.
    """
    ddl_dir = Path(ddl_dir)
    if not ddl_dir.is_dir():
        raise MigrationError(f"migrations directory {ddl_dir} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(ddl_dir.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() != ".sql" or not path.is_file():
            continue
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files are named NNNN_name.sql (four digits, "
                f"then lowercase letters, digits and _), e.g. 0002_add_entries_index.sql"
            )
        version = int(match[1])
        if version == 0:
            raise MigrationError(f"{path.name}: versions start at 0001")
        if version in found:
            raise MigrationError(
                f"{found[version].filename} and {path.name} both have version {version:04d}: "
                f"give the newer one the next free number"
            )
        found[version] = _read_migration(path, version, match[2])
    migrations = [found[version] for version in sorted(found)]
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            after = f"after {migrations[expected - 2].filename}" if expected > 1 else "first"
            raise MigrationError(
                f"version {expected:04d} is missing: {migration.filename} comes {after}. "
                f"Versions are consecutive from 0001; renumber {migration.filename}."
            )
    return migrations


def _read_migration(path: Path, version: int, name: str) -> Migration:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise MigrationError(f"{path.name} is not UTF-8: {exc}") from exc
    try:
        statements = split_statements(text)
    except SplitError as exc:
        raise MigrationError(f"{path.name}: {exc}") from exc
    if not statements:
        raise MigrationError(f"{path.name} holds no statement (only comments or blanks)")
    lines = text.splitlines()
    marked = bool(lines) and bool(_MARKER_LINE.match(lines[0].strip()))
    fgac = [s for s in statements if is_fgac_statement(s)]
    if fgac and not marked:
        misplaced = any(_MARKER_LINE.match(line.strip()) for line in lines)
        raise MigrationError(
            f"{path.name} holds fine-grained access control statements "
            f"({_head(fgac[0])}), which the emulator cannot run: make `{FGAC_MARKER}` "
            f"the file's first line"
            + (" (it is in the file, but not on the first line)" if misplaced else "")
            + " so that they are skipped on the emulator and applied on Cloud Spanner."
        )
    return Migration(
        version=version,
        name=name,
        path=path,
        checksum=hashlib.sha256(data).hexdigest(),
        statements=tuple(statements),
        requires_fgac=marked,
    )


def _head(statement: str, limit: int = 60) -> str:
    line = " ".join(statement.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- reading the bookkeeping ------------------------------------------------------


@dataclass(frozen=True)
class SchemaStatus:
    current_version: int | None  # None: nothing applied (or no SchemaMigrations table)
    dirty: bool
    latest_version: int  # newest file; 0 when there are none
    pending: list[Migration]  # not applied cleanly: newer than current, or current if dirty

    @property
    def is_current(self) -> bool:
        """Every file this code knows is applied and nothing is dirty.

        A database ahead of the files (a newer revision migrated it) counts as current:
        see ``ahead``.
        """
        return not self.dirty and not self.pending

    @property
    def ahead(self) -> bool:
        return (self.current_version or 0) > self.latest_version


@dataclass(frozen=True)
class LockState:
    owner: str | None
    expiry: datetime | None
    now: datetime  # Spanner's clock when read

    @property
    def held(self) -> bool:
        return self.owner is not None and self.expiry is not None and self.expiry > self.now


@dataclass(frozen=True)
class _State:
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
    version, dirty = _read_version(database)
    applied = (version or 0) - (1 if dirty else 0)
    return SchemaStatus(
        current_version=version,
        dirty=dirty,
        latest_version=migrations[-1].version if migrations else 0,
        pending=[m for m in migrations if m.version > applied],
    )


def read_lock(database: Database) -> LockState | None:
    """The migration lock as Spanner sees it now; None if the lock table is missing."""
    try:
        with database.snapshot() as snapshot:
            now, owner, expiry = next(iter(snapshot.execute_sql(_LOCK_SQL)))
    except gexc.InvalidArgument as exc:
        if _table_missing(exc):
            return None
        raise
    return LockState(owner=owner, expiry=expiry, now=now)


def verify_applied_files(database: Database, ddl_dir: Path) -> None:
    """Refuse if an applied file was edited or vanished (read-only)."""
    migrations = load_migrations(ddl_dir)
    version, _ = _read_version(database)
    _verify(migrations, version, _read_history(database), Path(ddl_dir))


def _read_version(database: Database) -> tuple[int | None, bool]:
    try:
        with database.snapshot() as snapshot:
            rows = list(snapshot.execute_sql(_VERSION_SQL))
    except gexc.InvalidArgument as exc:
        if _table_missing(exc):
            return None, False
        raise
    if not rows:
        return None, False
    version, dirty = rows[0]
    # golang-migrate writes -1 (its NilVersion) for "dirty before the first file".
    return (version if version > 0 else None), bool(dirty)


def _read_history(database: Database) -> list[tuple[int, str | None, str | None, bool]]:
    try:
        with database.snapshot() as snapshot:
            return [
                (row[0], row[1], row[2], bool(row[3])) for row in snapshot.execute_sql(_HISTORY_SQL)
            ]
    except gexc.InvalidArgument as exc:
        if _table_missing(exc):
            return []
        raise


def _read_state(reader: Any) -> _State:
    now, version, dirty, owner, expiry = next(iter(reader.execute_sql(_STATE_SQL)))
    return _State(
        now=now,
        version=version if version is not None and version > 0 else None,
        dirty=bool(dirty),
        lock=LockState(owner=owner, expiry=expiry, now=now),
    )


def _table_missing(exc: gexc.GoogleAPICallError) -> bool:
    return "Table not found" in str(exc.message)


def _verify(
    migrations: Sequence[Migration],
    version: int | None,
    history: Sequence[tuple[int, str | None, str | None, bool]],
    ddl_dir: Path,
) -> None:
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


# --- creating the bookkeeping -------------------------------------------------------


def _ensure_tables(database: Database, timeout: float) -> None:
    """Create the three tables (and wrench's history table's extra columns) if missing.

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
            _submit_ddl(database, statements).result(timeout)
        except (gexc.AlreadyExists, gexc.FailedPrecondition) as exc:
            if not isinstance(exc, gexc.AlreadyExists) and "Duplicate name" not in str(exc):
                raise
    raise MigrationError("could not create the migration bookkeeping tables; run again")


def _submit_ddl(database: Database, statements: list[str], *, patience: float = 60.0) -> Any:
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


# --- applying -----------------------------------------------------------------------


def apply_migrations(
    database: Database,
    ddl_dir: Path,
    *,
    emulator: bool,
    dry_run: bool = False,
    out: Out = print,
    lock_timeout: float = 900.0,
    ddl_timeout: float = 3600.0,
    lease_seconds: int = 60,
    poll_interval: float = 0.5,
) -> list[Migration]:
    """Apply the pending files of ``ddl_dir``; return those this call applied.

    With ``dry_run`` nothing is written (not even the bookkeeping tables): the pending
    files and their statements are printed through ``out`` and returned. ``emulator``
    decides whether fine-grained access control statements of marked files are sent.
    ``lock_timeout`` bounds the wait for another runner, ``ddl_timeout`` the wait for one
    file's DDL operation.
    """
    ddl_dir = Path(ddl_dir)
    migrations = load_migrations(ddl_dir)
    if dry_run:
        return _dry_run(database, migrations, ddl_dir, emulator=emulator, out=out)
    _ensure_tables(database, ddl_timeout)
    runner = _Runner(
        database,
        migrations,
        emulator=emulator,
        out=out,
        lock_timeout=lock_timeout,
        ddl_timeout=ddl_timeout,
        lease_seconds=lease_seconds,
        poll_interval=poll_interval,
    )
    with database.snapshot() as snapshot:
        state = _read_state(snapshot)
    _verify(migrations, state.version, _read_history(database), ddl_dir)
    if state.dirty and not state.held_by_other(runner.owner):
        raise DirtyDatabaseError(state.version or 0, runner.filename(state.version))
    applied_floor = (state.version or 0) - (1 if state.dirty else 0)
    applied: list[Migration] = []
    try:
        for migration in migrations:
            if migration.version > applied_floor and runner.run(migration):
                applied.append(migration)
    finally:
        runner.release()
    latest = migrations[-1] if migrations else None
    if not applied:
        at = f"version {latest.version} ({latest.filename})" if latest else "no migrations"
        out(f"schema is up to date: {at}")
    return applied


def _dry_run(
    database: Database,
    migrations: list[Migration],
    ddl_dir: Path,
    *,
    emulator: bool,
    out: Out,
) -> list[Migration]:
    version, dirty = _read_version(database)
    _verify(migrations, version, _read_history(database), ddl_dir)
    if dirty:
        lock = read_lock(database)
        if lock is None or not lock.held:
            raise DirtyDatabaseError(version or 0, _filename(migrations, version))
        out(f"note: another runner ({lock.owner}) is applying version {version} right now")
    applied = (version or 0) - (1 if dirty else 0)
    pending = [m for m in migrations if m.version > applied]
    at = f"version {version}" if version else "no version"
    if not pending:
        out(f"dry run: nothing to apply, the database is at {at}")
        return []
    out(
        f"dry run: {len(pending)} file(s) would be applied to a database at {at}; "
        f"nothing is changed"
    )
    for migration in pending:
        send, skipped = migration.statements_for(emulator=emulator)
        out(f"\n-- {migration.filename} (version {migration.version}, {len(send)} statement(s))")
        for statement in send:
            out(statement + ";")
        for statement in skipped:
            out(f"-- skipped on the emulator: {_head(statement)}")
    return pending


def _filename(migrations: Sequence[Migration], version: int | None) -> str | None:
    return next((m.filename for m in migrations if m.version == version), None)


ClaimOutcome = Literal["claimed", "applied", "busy"]


class _Runner:
    """One ``apply_migrations`` call: its identity, its lock, its transactions."""

    def __init__(
        self,
        database: Database,
        migrations: list[Migration],
        *,
        emulator: bool,
        out: Out,
        lock_timeout: float,
        ddl_timeout: float,
        lease_seconds: int,
        poll_interval: float,
    ) -> None:
        self.database = database
        self.migrations = migrations
        self.emulator = emulator
        self.out = out
        self.lock_timeout = lock_timeout
        self.ddl_timeout = ddl_timeout
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[-200:]
        self._previous: int | None = None  # the clean version before our last claim
        self._locked = False  # a claim of ours committed: release the lock at the end

    def filename(self, version: int | None) -> str | None:
        return _filename(self.migrations, version)

    def run(self, migration: Migration) -> bool:
        """Apply one file unless another runner did; True if this runner applied it."""
        if not self._claim(migration):
            self.out(f"{migration.filename}: already applied by another runner")
            return False
        send, skipped = migration.statements_for(emulator=self.emulator)
        if skipped:
            self.out(
                f"{migration.filename}: skipping {len(skipped)} fine-grained access control "
                f"statement(s) on the emulator, which does not support them (they run on "
                f"Cloud Spanner): " + "; ".join(_head(s) for s in skipped)
            )
        self.out(f"applying {migration.filename} ({len(send)} statement(s))")
        started = time.monotonic()
        if send:
            self._send(migration, send)
        try:
            self.database.run_in_transaction(self._finish_tx, migration)
        except gexc.GoogleAPICallError as exc:
            raise MigrationError(
                f"{migration.filename} was applied, but recording it failed: {exc.message}. "
                f"The database stays dirty at version {migration.version}; check that the "
                f"schema has {migration.filename}, then run `{CLI} force {migration.version}`."
            ) from exc
        self.out(f"applied {migration.filename} in {time.monotonic() - started:.1f}s")
        return True

    # --- claim --------------------------------------------------------------------

    def _claim(self, migration: Migration) -> bool:
        deadline = time.monotonic() + self.lock_timeout
        announced = False
        while True:
            outcome, state = self.database.run_in_transaction(self._claim_tx, migration)
            if outcome == "claimed":
                self._locked = True
                return True
            if outcome == "applied":
                return False
            if not announced:
                self.out(
                    f"waiting: another runner ({state.lock.owner}) holds the migration "
                    f"lock (version {state.version}, dirty={state.dirty})"
                )
                announced = True
            self._wait_for_lock(deadline, state)

    def _claim_tx(self, tx: Any, migration: Migration) -> tuple[ClaimOutcome, _State]:
        state = _read_state(tx)
        current = state.version or 0
        if current > migration.version or (current == migration.version and not state.dirty):
            return "applied", state
        if state.dirty:
            if current == migration.version and state.lock.owner == self.owner:
                return "claimed", state  # our own claim, committed by an earlier attempt
            if state.held_by_other(self.owner):
                return "busy", state
            raise DirtyDatabaseError(current, self.filename(current))
        if state.held_by_other(self.owner):
            return "busy", state
        if current != migration.version - 1:
            raise MigrationError(
                f"cannot apply {migration.filename}: the database is at version {current}, "
                f"not {migration.version - 1}"
            )
        self._previous = state.version
        _set_version(tx, migration.version, dirty=True)
        tx.insert_or_update(
            LOCK_TABLE,
            columns=["ID", "LockIdentifier", "Expiry"],
            values=[[None, self.owner, state.now + self.lease]],
        )
        tx.insert_or_update(
            HISTORY_TABLE,
            columns=_HISTORY_COLUMNS,
            values=[
                [
                    migration.version,
                    True,
                    COMMIT_TIMESTAMP,
                    COMMIT_TIMESTAMP,
                    migration.filename,
                    migration.checksum,
                    None,
                ]
            ],
        )
        return "claimed", state

    def _wait_for_lock(self, deadline: float, state: _State) -> None:
        """Sleep until the lock looks free or expired (strong snapshot reads)."""
        while True:
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"another runner ({state.lock.owner}) still holds the migration lock "
                    f"after {self.lock_timeout:.0f}s (version {state.version}, dirty="
                    f"{state.dirty}). Let it finish and run again, or wait longer with "
                    f"--lock-timeout."
                )
            time.sleep(self.poll_interval)
            with self.database.snapshot() as snapshot:
                state = _read_state(snapshot)
            if not state.held_by_other(self.owner):
                return

    # --- DDL ----------------------------------------------------------------------

    def _send(self, migration: Migration, statements: list[str]) -> None:
        try:
            operation = _submit_ddl(self.database, statements)
        except (gexc.InvalidArgument, gexc.FailedPrecondition) as exc:
            # Refused before an operation existed: nothing was applied, so the claim
            # is undone instead of leaving the version dirty.
            self.database.run_in_transaction(self._unclaim_tx, migration)
            raise MigrationError(
                f"Spanner refused {migration.filename}, nothing was applied and the "
                f"database stays at version {self._previous or 'none'}: {exc.message}. "
                f"Fix the file (never applied, so editing it is fine) and run again."
            ) from exc
        except Exception as exc:
            raise MigrationError(
                f"sending {migration.filename} failed: {exc}. " + self._dirty_hint(migration)
            ) from exc
        deadline = time.monotonic() + self.ddl_timeout
        renew_every = max(1.0, self.lease.total_seconds() / 4)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MigrationError(
                    f"{migration.filename} still running after {self.ddl_timeout:.0f}s; the "
                    f"operation goes on in Spanner (gcloud spanner operations list "
                    f"--instance=INSTANCE --database=DATABASE --type=DATABASE_UPDATE_DDL). "
                    f"When it has finished, run `{CLI} force {migration.version}` if it "
                    f"succeeded. " + _repair_hint(migration.version, migration.filename)
                )
            try:
                operation.result(timeout=min(remaining, renew_every))
            except concurrent.futures.TimeoutError:
                self._renew()
                continue
            except Exception as exc:
                message = getattr(exc, "message", None) or str(exc)
                raise MigrationError(
                    f"{migration.filename} failed: {message}. " + self._dirty_hint(migration)
                ) from exc
            return

    def _dirty_hint(self, migration: Migration) -> str:
        return f"The database is now dirty at version {migration.version}. " + _repair_hint(
            migration.version, migration.filename
        )

    def _unclaim_tx(self, tx: Any, migration: Migration) -> None:
        state = _read_state(tx)
        if state.version != migration.version or not state.dirty:
            return
        _set_version(tx, self._previous, dirty=False)
        tx.delete(HISTORY_TABLE, KeySet(keys=[[migration.version]]))

    def _finish_tx(self, tx: Any, migration: Migration) -> None:
        state = _read_state(tx)
        if state.version != migration.version or not state.dirty:
            raise MigrationError(
                f"{migration.filename} was applied, but meanwhile the version was changed "
                f"to {state.version} (dirty={state.dirty}) by someone else (force?). "
                f"Check the schema and `{CLI} status`."
            )
        _set_version(tx, migration.version, dirty=False)
        tx.update(
            HISTORY_TABLE,
            columns=["Version", "Dirty", "Modified", "Name", "Checksum", "AppliedAt"],
            values=[
                [
                    migration.version,
                    False,
                    COMMIT_TIMESTAMP,
                    migration.filename,
                    migration.checksum,
                    COMMIT_TIMESTAMP,
                ]
            ],
        )
        if state.lock.owner == self.owner:
            tx.update(
                LOCK_TABLE,
                columns=["ID", "LockIdentifier", "Expiry"],
                values=[[None, self.owner, state.now + self.lease]],
            )

    # --- lock ---------------------------------------------------------------------

    def _renew(self) -> None:
        def renew(tx: Any) -> int:
            return int(
                tx.execute_update(
                    _RENEW_SQL,
                    params={"owner": self.owner, "seconds": int(self.lease.total_seconds())},
                    param_types={"owner": param_types.STRING, "seconds": param_types.INT64},
                )
            )

        self.database.run_in_transaction(renew)

    def release(self) -> None:
        if not self._locked:
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


def _set_version(tx: Any, version: int | None, *, dirty: bool) -> None:
    """golang-migrate's and wrench's way: delete every row, insert the one."""
    tx.delete(VERSION_TABLE, KeySet(all_=True))
    if version is not None:
        tx.insert(VERSION_TABLE, columns=["Version", "Dirty"], values=[[version, dirty]])


# --- force ------------------------------------------------------------------------------


def force_version(
    database: Database, ddl_dir: Path, version: int, *, out: Out = print, timeout: float = 600.0
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
    _ensure_tables(database, timeout)

    def force_tx(tx: Any) -> _State:
        state = _read_state(tx)
        if state.lock.held:
            raise MigrationError(
                f"a migration runner ({state.lock.owner}) holds the lock until "
                f"{state.lock.expiry:%Y-%m-%d %H:%M:%S} UTC: wait for it to finish (or, if it "
                f"crashed, for the lock to expire), then force again."
            )
        _set_version(tx, version or None, dirty=False)
        tx.delete(HISTORY_TABLE, KeySet(ranges=[KeyRange(start_open=[version])]))
        if target is not None:
            existing = list(tx.read(HISTORY_TABLE, ["Version"], KeySet(keys=[[version]])))
            values = [version, False, COMMIT_TIMESTAMP, target.filename, target.checksum]
            if existing:
                tx.update(
                    HISTORY_TABLE,
                    columns=["Version", "Dirty", "Modified", "Name", "Checksum", "AppliedAt"],
                    values=[[*values, COMMIT_TIMESTAMP]],
                )
            else:
                tx.insert(
                    HISTORY_TABLE,
                    columns=_HISTORY_COLUMNS,
                    values=[[version, False, COMMIT_TIMESTAMP, *values[2:], COMMIT_TIMESTAMP]],
                )
        return state

    before = database.run_in_transaction(force_tx)
    was = f"{before.version}{' (dirty)' if before.dirty else ''}" if before.version else "none"
    now = f"{version} ({target.filename})" if target else "none (nothing applied)"
    out(f"forced: version {now}, clean; was {was}")
