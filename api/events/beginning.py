"""Where the relay begins reading the change stream, and when it must refuse to.

A relay that never ran begins where the stream began: the commit timestamp of the DDL
statement that created it, which the migration runner records. Every change the ledger
committed since is in the stream, so none is missed, whenever the relay first starts.

The stream keeps its records for its retention period (7 days). A relay that can no
longer read from where it must (first started, or down, longer than that) refuses to
start rather than leave a silent gap, until an operator accepts the gap by naming where
to begin afresh (LEDGER_EVENTS_ACCEPT_GAP with LEDGER_EVENTS_START_AT).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from pathlib import Path

from google.api_core import exceptions as gexc
from google.cloud.spanner_v1.database import Database

from api.events.model import TICK, parse_rfc3339, rfc3339
from api.events.repository import CHANGE_STREAM
from api.spanner.migrations import load_migrations
from api.spanner.migrations.state import read_applied_times

log = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=7)
# A start this close to the retention horizon could age out before its first read.
RETENTION_MARGIN = timedelta(minutes=10)
# The emulator stamps a schema change a fraction of a millisecond before its change stream
# can be read ("earliest read timestamp"), and commits nothing in between (it runs one
# schema change or transaction at a time): a start that close is the stream's beginning.
SCHEMA_LAG = timedelta(seconds=1)

HOW_TO_ACCEPT = (
    "To start anyway from a later instant, accepting that changes committed before it "
    "never reach the feed, Pub/Sub or webhooks, set LEDGER_EVENTS_ACCEPT_GAP=true and "
    "LEDGER_EVENTS_START_AT=<RFC 3339 instant within the retention> (docs/EVENTS.md, "
    '"After a long outage").'
)

_CREATES_STREAM = re.compile(rf"^\s*CREATE\s+CHANGE\s+STREAM\s+{CHANGE_STREAM}\b", re.IGNORECASE)
_EARLIEST = re.compile(r"earliest read timestamp:\s*(\S+?)\.?\s")
_DURATION = re.compile(r"^(\d+)([dhms])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class RelayRefused(Exception):
    """The relay cannot read the stream from where it must: a gap no one accepted."""


def stream_began_at(database: Database, ddl_dir: Path) -> tuple[datetime, str]:
    """When the change stream began, and how that is known."""
    for migration in load_migrations(ddl_dir):
        for index, statement in enumerate(migration.statements):
            if not _CREATES_STREAM.match(statement):
                continue
            applied_at, committed_at = read_applied_times(database, migration.version)
            stamp = committed_at[index] if index < len(committed_at) else None
            if stamp is not None:
                return stamp, f"{migration.filename} created the change stream then"
            if applied_at is not None:
                # Applied before the runner recorded statements' times: its record is
                # just after the stream began; changes committed in between are missed.
                log.warning(
                    "events relay: when %s created the change stream was not recorded; "
                    "reading from when it was applied (%s): changes committed in the "
                    "moments between may be missing",
                    migration.filename, rfc3339(applied_at),
                )  # fmt: skip
                return applied_at, f"{migration.filename} was applied then"
            raise RelayRefused(
                f"{migration.filename}, which creates the change stream, is not applied to "
                f"this database: apply the migrations first."
            )
    raise RelayRefused(f"no file of {ddl_dir} creates the change stream {CHANGE_STREAM}")


def retention_of(declared: str | None) -> timedelta:
    """The stream's retention_period option ("7d", "36h"); the default when unreadable."""
    match = _DURATION.match((declared or "").strip().lower())
    if not match:
        return DEFAULT_RETENTION
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def readable_from(exc: gexc.OutOfRange, start: datetime) -> datetime | None:
    """Where Spanner says the stream can first be read, when that is so close after
    ``start`` that nothing can have committed in between; else None."""
    match = _EARLIEST.search(str(exc.message) + " ")
    if match is None:
        return None
    try:
        earliest = parse_rfc3339(match[1].replace("+00:00", "Z"))
    except ValueError:
        return None
    # Python keeps microseconds: cut, a nanosecond instant would land before it.
    start_at = datetime(*earliest.timetuple()[:6], earliest.microsecond, tzinfo=earliest.tzinfo)
    if earliest.nanosecond % 1000:
        start_at += TICK
    return start_at if timedelta(0) <= start_at - start <= SCHEMA_LAG else None
