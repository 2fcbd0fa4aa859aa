from __future__ import annotations

from api.config import Settings
from api.errors import LedgerError
from api.spanner.handles import DatabaseHandles
from api.spanner.migrations import schema_status


class SchemaNotCurrent(LedgerError):
    status = 503
    code = "schema_not_current"
    title = "Database schema is not at the version this build expects"


def check_ready(*, databases: DatabaseHandles, settings: Settings) -> int:
    """Every role's handle answers, and the schema is at the latest migration."""
    for handle in databases.distinct():
        handle.ping()
    status = schema_status(databases.writer.database, settings.ddl_dir)
    if not status.is_current:
        raise SchemaNotCurrent(
            f"Schema is at version {status.current_version}"
            f"{' (dirty)' if status.dirty else ''}; this build needs {status.latest_version}. "
            "Run the migrations.",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        )
    return status.latest_version
