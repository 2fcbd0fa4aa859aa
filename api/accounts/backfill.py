"""Fill in the posted totals after each entry on entries written without them.

    python -m api.accounts.backfill [--window N] [--timeout SECONDS]

Since spanner_ddl/0015 every entry carries the account's debits and credits posted after
it, and a statement is two seeks. Entries written before 0015 (or by an older revision
still serving during a deploy, or after a rollback to one) carry none: a statement
bounded on one of them sums the amounts between its bounds instead, which is correct but
costs as much as the range holds. This fills them in, from the amounts, oldest first.

When: once the deploy that brings 0015 has moved all traffic to the new revision (run
it again after any rollback to an older one). Safe while the service runs: it writes
only the totals of entries that have none, which the service never writes (it only
inserts entries), one window of an account per short transaction; a window's first
entry is checked against the one before it, so a stopped run simply runs again.

Where: the service's own settings, or ``--project``, ``--instance``, ``--database``.
It needs UPDATE on Entries, which no database role has (the service never rewrites
history): run it as the deployer that runs the migrations, without a database role.

Exit status: 0 every entry has its totals, 1 an account's stored totals or sequences
disagree with its amounts (named; ``python -m api.audit`` says more) and it was left
as it was, 2 bad usage or the database could not be read or written.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from api.accounts import entries_repository
from api.accounts.entries_repository import Totals
from api.cli import ToolFailed, add_database_arguments, positive_int, run_on_database
from api.spanner.budget import Budget
from api.spanner.database import SpannerDatabase
from api.spanner.tx import PRIORITY_LOW, Tx

EXIT_DONE, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2
CLI = "python -m api.accounts.backfill"
# Entries per transaction: each is an update of five columns and of the index storing
# the totals, so 2,000 stay far below Spanner's 80,000 mutations per commit.
WINDOW = 2000


class Refused(Exception):
    """An account's entries do not add up to what would be written: left alone."""


@dataclass
class BackfillReport:
    accounts: int = 0  # accounts that had entries without totals
    filled: int = 0  # entries given their totals
    refused: dict[str, str] = field(default_factory=dict)  # account id -> why

    def to_text(self) -> str:
        lines = [f"filled the totals of {self.filled:,} entries of {self.accounts:,} accounts"]
        lines += [f"refused {account}: {why}" for account, why in self.refused.items()]
        return "\n".join(lines)


def backfill(database: SpannerDatabase, *, budget: Budget, window: int = WINDOW) -> BackfillReport:
    report = BackfillReport()
    for todo in database.read(
        entries_repository.untotalled_accounts, budget=budget, priority=PRIORITY_LOW
    ):
        report.accounts += 1
        try:
            for lowest in range(todo.lowest, todo.highest + 1, window):
                highest = min(lowest + window - 1, todo.highest)
                fill = functools.partial(
                    _fill, account_id=todo.account_id, lowest=lowest, highest=highest
                )
                report.filled += database.write(fill, budget=budget).value
        except Refused as exc:
            report.refused[todo.account_id] = str(exc)
    return report


def _fill(tx: Tx, account_id: str, lowest: int, highest: int) -> int:
    """The totals after entries ``lowest``..``highest``, running on from the entry before
    them and checked against the one after them; returns how many were missing (and are
    now written)."""
    entries = entries_repository.totalled_entries(tx, account_id, max(lowest - 1, 1), highest + 1)
    running = Totals(0, 0)
    if lowest > 1:
        before = entries.pop(0) if entries else None
        if before is None or before.sequence != lowest - 1 or before.totals is None:
            raise Refused(f"entry {lowest - 1} is missing or has no totals")
        running = before.totals
    after = entries.pop() if entries and entries[-1].sequence == highest + 1 else None
    missing: dict[int, Totals] = {}
    for expected, entry in enumerate(entries, start=lowest):
        if entry.sequence != expected:
            raise Refused(f"entry {expected} is missing")
        running = _check(entry, running)
        if entry.totals is None:
            missing[entry.sequence] = running
    if len(entries) != highest - lowest + 1:
        raise Refused(f"entries {lowest + len(entries)}..{highest} are missing")
    if after is not None:
        _check(after, running)
    entries_repository.write_entry_totals(tx, account_id, missing)
    return len(missing)


def _check(entry: entries_repository.TotalledEntry, before: Totals) -> Totals:
    """The totals after ``entry``; a refusal if it stores others."""
    running = Totals(before.debits + max(-entry.amount, 0), before.credits + max(entry.amount, 0))
    if entry.totals is not None and entry.totals != running:
        raise Refused(
            f"entry {entry.sequence} stores debits {entry.totals.debits} and credits "
            f"{entry.totals.credits} after it; its amounts sum to {running.debits} and "
            f"{running.credits}"
        )
    return running


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=CLI,
        description="Fill in the posted totals after each entry where they are missing "
        "(entries written before spanner_ddl/0015).",
        epilog="exit status: 0 done, 1 some accounts refused (named), 2 bad usage or backend error",
    )
    add_database_arguments(parser)
    parser.add_argument(
        "--window",
        type=positive_int,
        default=WINDOW,
        help=f"entries per transaction (default: {WINDOW})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds the whole backfill may take (default: 3600; run again to go on)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def fill(database: SpannerDatabase, budget: Budget, _where: str) -> BackfillReport:
        return backfill(database, budget=budget, window=args.window)

    try:
        # No database role: writing an entry's totals is beyond both roles' rights.
        report = run_on_database(args, fill, tag="action=backfill", what="the backfill")
    except ToolFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(report.to_text())
    return EXIT_REFUSED if report.refused else EXIT_DONE


if __name__ == "__main__":
    sys.exit(main())
