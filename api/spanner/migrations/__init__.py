"""Spanner DDL migrations: ``spanner_ddl/NNNN_name.sql`` applied in order, exactly once.

``python -m api.spanner.migrations [up|status|force VERSION]`` is the command line; the
rules (file names, the fine-grained access control marker, the bookkeeping tables, the
lock) are described in ``runner``.
"""

from api.spanner.migrations.runner import (
    FGAC_MARKER,
    ChecksumMismatchError,
    DirtyDatabaseError,
    LockState,
    LockTimeoutError,
    Migration,
    MigrationError,
    SchemaStatus,
    apply_migrations,
    force_version,
    load_migrations,
    read_lock,
    schema_status,
    verify_applied_files,
)
from api.spanner.migrations.splitter import SplitError, split_statements

__all__ = [
    "FGAC_MARKER",
    "ChecksumMismatchError",
    "DirtyDatabaseError",
    "LockState",
    "LockTimeoutError",
    "Migration",
    "MigrationError",
    "SchemaStatus",
    "SplitError",
    "apply_migrations",
    "force_version",
    "load_migrations",
    "read_lock",
    "schema_status",
    "split_statements",
    "verify_applied_files",
]
