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
from collections.abc import Sequence

from api.audit.report import KINDS, AuditReport
from api.audit.service import ENTRY_PAGE, run_audit
from api.cli import ToolFailed, add_database_arguments, positive_int, run_on_database
from api.config import Settings
from api.spanner.budget import Budget
from api.spanner.database import SpannerDatabase

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
        type=positive_int,
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def audit(database: SpannerDatabase, budget: Budget, where: str) -> AuditReport:
        return run_audit(database, budget=budget, where=where, entry_page=args.entry_page)

    try:
        report = run_on_database(
            args, audit, tag="action=audit", what="the audit", role=_reader_role
        )
    except ToolFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(report.to_json() if args.json else report.to_text())
    return EXIT_WHOLE if report.whole else EXIT_DAMAGED


def _reader_role(settings: Settings) -> str | None:
    return settings.reader_role if settings.use_database_roles else None


if __name__ == "__main__":
    sys.exit(main())
