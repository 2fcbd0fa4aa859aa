from __future__ import annotations

from api.config import Settings
from api.context import RequestContext
from api.errors import LedgerError
from api.spanner.deadlines import bounded_by
from api.spanner.migrations import schema_status
from api.storage import DatabaseHandles


class SchemaNotCurrent(LedgerError):
    status = 503
    code = "schema_not_current"
    title = "Database schema is not at the version this build expects"


def check_ready(*, databases: DatabaseHandles, settings: Settings, ctx: RequestContext) -> int:
    """Every role's handle answers, and the schema is at the latest migration."""
    for handle in databases.distinct():
        handle.ping(ctx.budget("ping"))
    with bounded_by(ctx.deadline):
        status = schema_status(databases.writer.database, settings.ddl_dir)
    if not status.is_current:
        raise SchemaNotCurrent(
            f"Schema is at version {status.current_version}"
            f"{' (dirty)' if status.dirty else ''}; this build needs {status.latest_version}. "
            "Run the migrations.",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        )
    return status.latest_version
