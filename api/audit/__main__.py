"""Command line of the ledger audit.

    python -m api.audit [--json] [--entry-page N] [--timeout SECONDS]

Where: the service's own settings (``LEDGER_PROJECT`` or ``GOOGLE_CLOUD_PROJECT``,
``LEDGER_SPANNER_INSTANCE``, ``LEDGER_SPANNER_DATABASE``, ``SPANNER_EMULATOR_HOST``), or
``--project``, ``--instance``, ``--database``. With ``LEDGER_USE_DATABASE_ROLES=true`` it
reads as ``LEDGER_READER_ROLE`` (ledger_reader): an audit never needs to write.

Exit status: 0 the ledger is whole, 1 it is damaged (the findings say where), 2 bad
usage or the database could not be read.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from pydantic import ValidationError

from api.audit.report import KINDS
from api.audit.service import ENTRY_PAGE, run_audit
from api.cli import (
    BACKEND_ERRORS,
    add_database_arguments,
    backend_message,
    database_path,
    settings_from,
)
from api.config import Settings
from api.spanner.call import Call
from api.spanner.database import SpannerDatabase
from api.spanner.errors import DeadlinePassed
from api.storage import build_client, spanner_config

EXIT_WHOLE, EXIT_DAMAGED, EXIT_ERROR = 0, 1, 2
CLI = "python -m api.audit"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=CLI,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check a ledger database's invariants from one read-only snapshot.",
        epilog="finding kinds:\n"
        + "\n".join(f"  {kind:<20} {meaning}" for kind, meaning in KINDS.items())
        + "\n\nexit status: 0 whole, 1 damaged, 2 bad usage or backend error",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    add_database_arguments(parser)
    parser.add_argument(
        "--entry-page",
        type=_positive,
        default=ENTRY_PAGE,
        help=f"entries read per call, per account (default: {ENTRY_PAGE})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds the whole audit may take (default: 3600)",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # One snapshot, one session: nothing to pool.
        settings = settings_from(args, pool_size=1)
    except ValidationError as exc:
        print(f"error: bad configuration in the environment:\n{exc}", file=sys.stderr)
        return EXIT_ERROR
    where = database_path(settings)
    try:
        database = _open(settings)
        try:
            call = Call(deadline=time.monotonic() + args.timeout, tag="action=audit")
            report = run_audit(database, call=call, where=where, entry_page=args.entry_page)
        finally:
            database.close()
    except DeadlinePassed as exc:
        message = f"the audit did not finish within --timeout: {exc}"
    except BACKEND_ERRORS as exc:
        message = backend_message(exc, where)
    else:
        print(report.to_json() if args.json else report.to_text())
        return EXIT_WHOLE if report.whole else EXIT_DAMAGED
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _open(settings: Settings) -> SpannerDatabase:
    role = settings.reader_role if settings.use_database_roles else None
    database = SpannerDatabase(spanner_config(settings), build_client(settings), role=role)
    database.open()
    return database


if __name__ == "__main__":
    sys.exit(main())
