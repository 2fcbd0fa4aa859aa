"""Spanner DDL migrations: ``spanner_ddl/NNNN_name.sql`` applied in order, exactly once.

``python -m api.migrate [up|status|force VERSION]`` is the command line. The
rules live with the code that keeps them: ``files`` (names, checksums, the fine-grained
access control marker), ``tables`` (the bookkeeping tables), ``state`` (version and dirty
flag), ``lock`` (the migration lock), ``apply`` (applying pending files) and ``force``
(recording a version after a repair by hand).
"""

from api.spanner.migrations.apply import apply_migrations
from api.spanner.migrations.errors import (
    ChecksumMismatchError,
    DirtyDatabaseError,
    LockTimeoutError,
    MigrationError,
)
from api.spanner.migrations.files import FGAC_MARKER, Migration, load_migrations
from api.spanner.migrations.force import force_version
from api.spanner.migrations.lock import LockState, read_lock
from api.spanner.migrations.splitter import SplitError, split_statements
from api.spanner.migrations.state import SchemaStatus, schema_status, verify_applied_files

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
