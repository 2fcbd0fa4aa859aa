"""Applying the pending files: claim a version, send its DDL, record it, one file at a time."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from google.api_core import exceptions as gexc
from google.cloud.spanner_v1 import KeySet
from google.cloud.spanner_v1.database import Database

from api.spanner.migrations.ddl import submit_ddl
from api.spanner.migrations.errors import (
    CLI,
    DirtyDatabaseError,
    LockTimeoutError,
    MigrationError,
    repair_hint,
)
from api.spanner.migrations.files import Migration, head, is_fgac_statement, load_migrations
from api.spanner.migrations.lock import MigrationLock, read_lock
from api.spanner.migrations.state import (
    State,
    read_history,
    read_state,
    read_version,
    record_applied,
    record_claimed,
    set_version,
    verify,
)
from api.spanner.migrations.tables import HISTORY_TABLE, ensure_tables

__all__ = ["apply_migrations"]

Out = Callable[[str], None]
ClaimOutcome = Literal["claimed", "applied", "busy"]


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
    ensure_tables(database, ddl_timeout)
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
        state = read_state(snapshot)
    verify(migrations, state.version, read_history(database), ddl_dir)
    if state.dirty and not state.held_by_other(runner.lock.owner):
        raise DirtyDatabaseError(state.version or 0, runner.filename(state.version))
    applied_floor = (state.version or 0) - (1 if state.dirty else 0)
    applied: list[Migration] = []
    try:
        for migration in migrations:
            if migration.version > applied_floor and runner.run(migration):
                applied.append(migration)
    finally:
        runner.lock.release()
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
    version, dirty = read_version(database)
    verify(migrations, version, read_history(database), ddl_dir)
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
            out(f"-- skipped on the emulator: {head(statement)}")
    return pending


def _filename(migrations: Sequence[Migration], version: int | None) -> str | None:
    return next((m.filename for m in migrations if m.version == version), None)


class _Runner:
    """One ``apply_migrations`` call: its lock and the transactions around each file."""

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
        self.poll_interval = poll_interval
        self.lock = MigrationLock(database, lease_seconds=lease_seconds, out=out)
        self._previous: int | None = None  # the clean version before our last claim

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
                f"Cloud Spanner): " + "; ".join(head(s) for s in skipped)
            )
        self.out(f"applying {migration.filename} ({len(send)} statement(s))")
        started = time.monotonic()
        committed = self._send(migration, send) if send else []
        sent = iter(committed)
        # One per statement of the file, in its order: None for one not sent here.
        committed_at = [
            None if is_fgac_statement(s) and skipped else next(sent, None)
            for s in migration.statements
        ]
        try:
            self.database.run_in_transaction(self._finish_tx, migration, committed_at)
        except gexc.GoogleAPICallError as exc:
            raise MigrationError(
                f"{migration.filename} was applied, but recording it failed: {exc.message}. "
                f"The database stays dirty at version {migration.version}; check that the "
                f"schema has {migration.filename}, then run `{CLI} force {migration.version}`."
            ) from exc
        self.out(f"applied {migration.filename} in {time.monotonic() - started:.1f}s")
        return True

    def _claim(self, migration: Migration) -> bool:
        deadline = time.monotonic() + self.lock_timeout
        announced = False
        while True:
            outcome, state = self.database.run_in_transaction(self._claim_tx, migration)
            if outcome == "claimed":
                self.lock.taken = True
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

    def _claim_tx(self, tx: Any, migration: Migration) -> tuple[ClaimOutcome, State]:
        state = read_state(tx)
        current = state.version or 0
        if current > migration.version or (current == migration.version and not state.dirty):
            return "applied", state
        if state.dirty:
            if current == migration.version and state.lock.owner == self.lock.owner:
                return "claimed", state  # our own claim, committed by an earlier attempt
            if state.held_by_other(self.lock.owner):
                return "busy", state
            raise DirtyDatabaseError(current, self.filename(current))
        if state.held_by_other(self.lock.owner):
            return "busy", state
        if current != migration.version - 1:
            raise MigrationError(
                f"cannot apply {migration.filename}: the database is at version {current}, "
                f"not {migration.version - 1}"
            )
        self._previous = state.version
        set_version(tx, migration.version, dirty=True)
        self.lock.hold(tx, state.now)
        record_claimed(tx, migration)
        return "claimed", state

    def _wait_for_lock(self, deadline: float, state: State) -> None:
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
                state = read_state(snapshot)
            if not state.held_by_other(self.lock.owner):
                return

    def _send(self, migration: Migration, statements: list[str]) -> list[datetime]:
        """Apply ``statements``; when each took effect (the operation's commit timestamps)."""
        try:
            operation = submit_ddl(self.database, statements)
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
        renew_every = max(1.0, self.lock.lease.total_seconds() / 4)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MigrationError(
                    f"{migration.filename} still running after {self.ddl_timeout:.0f}s; the "
                    f"operation goes on in Spanner (gcloud spanner operations list "
                    f"--instance=INSTANCE --database=DATABASE --type=DATABASE_UPDATE_DDL). "
                    f"When it has finished, run `{CLI} force {migration.version}` if it "
                    f"succeeded. " + repair_hint(migration.version, migration.filename)
                )
            try:
                operation.result(timeout=min(remaining, renew_every))
            except concurrent.futures.TimeoutError:
                self.lock.renew()
                continue
            except Exception as exc:
                message = getattr(exc, "message", None) or str(exc)
                raise MigrationError(
                    f"{migration.filename} failed: {message}. " + self._dirty_hint(migration)
                ) from exc
            return list(getattr(operation.metadata, "commit_timestamps", None) or ())

    def _dirty_hint(self, migration: Migration) -> str:
        return f"The database is now dirty at version {migration.version}. " + repair_hint(
            migration.version, migration.filename
        )

    def _unclaim_tx(self, tx: Any, migration: Migration) -> None:
        state = read_state(tx)
        if state.version != migration.version or not state.dirty:
            return
        set_version(tx, self._previous, dirty=False)
        tx.delete(HISTORY_TABLE, KeySet(keys=[[migration.version]]))

    def _finish_tx(
        self, tx: Any, migration: Migration, committed_at: Sequence[datetime | None]
    ) -> None:
        state = read_state(tx)
        if state.version != migration.version or not state.dirty:
            raise MigrationError(
                f"{migration.filename} was applied, but meanwhile the version was changed "
                f"to {state.version} (dirty={state.dirty}) by someone else (force?). "
                f"Check the schema and `{CLI} status`."
            )
        set_version(tx, migration.version, dirty=False)
        record_applied(tx, migration, committed_at=committed_at)
        if state.lock.owner == self.lock.owner:
            self.lock.hold(tx, state.now)
