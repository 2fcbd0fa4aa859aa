"""Command line for the migration runner.

    python -m api.migrate [up] [--dry-run]    apply pending files (default)
    python -m api.migrate status              version, dirty flag, pending, lock
    python -m api.migrate force VERSION       mark VERSION applied and clean

Where: ``LEDGER_PROJECT`` (or ``GOOGLE_CLOUD_PROJECT``), ``LEDGER_SPANNER_INSTANCE``,
``LEDGER_SPANNER_DATABASE``, ``SPANNER_EMULATOR_HOST`` and ``LEDGER_DDL_DIR``, or
``--project``, ``--instance``, ``--database``, ``--dir``.

Exit status: 0 done, 1 refused or failed (the reason and what to do are on stderr),
2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from google.cloud import spanner
from google.cloud.spanner_v1.database import Database
from pydantic import ValidationError

from api.cli import (
    BACKEND_ERRORS,
    add_database_arguments,
    backend_message,
    database_path,
    settings_from,
)
from api.config import Settings
from api.spanner.migrations import (
    MigrationError,
    apply_migrations,
    force_version,
    load_migrations,
    read_lock,
    schema_status,
    verify_applied_files,
)
from api.spanner.migrations.errors import CLI
from api.storage import build_client

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=CLI,
        description="Apply spanner_ddl/NNNN_name.sql files to a Spanner database, in order.",
        epilog=(
            "commands: up (default) applies pending files; status shows the version, "
            "dirty flag, pending files and lock; force VERSION records VERSION as applied "
            "and clean after a failed run was repaired by hand (0: nothing applied)."
        ),
    )
    parser.add_argument("command", nargs="?", default="up", choices=["up", "status", "force"])
    parser.add_argument("version", nargs="?", type=int, help="for force: the version")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="up: print the pending files and their statements; change nothing",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="the migrations directory (default: LEDGER_DDL_DIR, else the repository's "
        "spanner_ddl/)",
    )
    add_database_arguments(parser)
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds to wait for one file's DDL operation (default: 3600)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=900.0,
        help="seconds to wait while another runner holds the lock (default: 900)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "force" and args.version is None:
        parser.error("force needs the VERSION to record, e.g. `force 3`")
    if args.command != "force" and args.version is not None:
        parser.error(f"{args.command} takes no version")
    if args.dry_run and args.command != "up":
        parser.error("--dry-run goes with up")
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        print(f"error: bad configuration in the environment:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    where = database_path(settings)
    try:
        _run(args, settings, where)
    except MigrationError as exc:
        message = str(exc)
    except BACKEND_ERRORS as exc:
        message = backend_message(exc, where)
    else:
        return EXIT_OK
    print(f"error: {message}", file=sys.stderr)
    return EXIT_REFUSED


def _run(args: argparse.Namespace, settings: Settings, where: str) -> None:
    ddl_dir: Path = args.dir or settings.ddl_dir
    load_migrations(ddl_dir)  # a broken directory is reported before connecting
    database = _open_database(settings)
    if not database.exists():
        raise MigrationError(
            f"database {where} does not exist"
            + (f" on the emulator at {settings.emulator_host}" if settings.on_emulator else "")
            + ". Create it first: `make run` does on the emulator, Terraform (infra/) on "
            "Cloud Spanner."
        )
    if args.command == "status":
        _status(database, ddl_dir, where, emulator=settings.on_emulator)
    elif args.command == "force":
        force_version(database, ddl_dir, args.version)
    else:
        applied = apply_migrations(
            database,
            ddl_dir,
            emulator=settings.on_emulator,
            dry_run=args.dry_run,
            ddl_timeout=args.timeout,
            lock_timeout=args.lock_timeout,
        )
        if applied and not args.dry_run:
            print(f"done: applied {len(applied)} file(s) to {where}")


def _open_database(settings: Settings) -> Database:
    client = build_client(settings)
    # One short-lived process: sessions on demand, nothing to keep warm.
    database: Database = client.instance(settings.spanner_instance).database(
        settings.spanner_database, pool=spanner.BurstyPool(target_size=1)
    )
    return database


def _status(database: Database, ddl_dir: Path, where: str, *, emulator: bool) -> None:
    status = schema_status(database, ddl_dir)
    names = {m.version: m.filename for m in load_migrations(ddl_dir)}

    def describe(version: int | None) -> str:
        if not version:
            return "none"
        return f"{version} ({names.get(version, 'no such file')})"

    lock = read_lock(database)
    if lock is None or not lock.held:
        lock_text = "free"
    else:
        lock_text = f"held by {lock.owner} until {lock.expiry:%Y-%m-%d %H:%M:%S} UTC"
    print(f"database:        {where}{' (emulator)' if emulator else ''}")
    print(f"current version: {describe(status.current_version)}")
    print(f"dirty:           {'YES' if status.dirty else 'no'}")
    print(f"latest file:     {describe(status.latest_version)}")
    print(f"lock:            {lock_text}")
    if status.pending:
        print(f"pending:         {len(status.pending)} file(s)")
        for migration in status.pending:
            print(f"  {migration.filename}")
    else:
        print("pending:         none")
    try:
        verify_applied_files(database, ddl_dir)
    except MigrationError as exc:
        print(f"problem: {exc}")
    if status.dirty and (lock is None or not lock.held):
        print(
            f"problem: version {status.current_version} is dirty and no runner holds the "
            f"lock: a run failed or crashed. Inspect the schema, then `{CLI} force "
            f"{status.current_version}` if it is fully applied or `{CLI} force "
            f"{(status.current_version or 1) - 1}` if not."
        )


if __name__ == "__main__":
    sys.exit(main())
