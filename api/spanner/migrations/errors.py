"""Why a run was refused or failed, each message ending with what to do about it."""

from __future__ import annotations

__all__ = [
    "CLI",
    "ChecksumMismatchError",
    "DirtyDatabaseError",
    "LockTimeoutError",
    "MigrationError",
    "repair_hint",
]

# The command the messages tell an operator to run.
CLI = "python -m api.migrate"


class MigrationError(Exception):
    """A run was refused or failed; the message says why and what to do."""


class DirtyDatabaseError(MigrationError):
    """A version was left dirty by a failed or crashed run and no runner is on it."""

    def __init__(self, version: int, filename: str | None) -> None:
        self.version = version
        self.filename = filename
        what = filename or f"version {version}"
        super().__init__(
            f"the database is dirty at version {version} ({what}): a run failed or "
            f"crashed while applying it and no runner holds the migration lock. "
            + repair_hint(version, filename)
        )


class ChecksumMismatchError(MigrationError):
    """An applied file was edited afterwards."""

    def __init__(self, filename: str, recorded: str, actual: str) -> None:
        self.filename = filename
        super().__init__(
            f"{filename} was edited after it was applied (recorded sha256 {recorded[:12]}…, "
            f"file now {actual[:12]}…). Applied migrations are never edited: restore "
            f"{filename} as it was (git log -p -- {filename}) and put the change in a "
            f"new file."
        )


class LockTimeoutError(MigrationError):
    """Another runner held the lock for longer than this one was willing to wait."""


def repair_hint(version: int, filename: str | None) -> str:
    """How to get a database that is dirty at ``version`` going again."""
    if version < 1:
        return f"Inspect the schema, then run `{CLI} force 0` and `{CLI} up` again."
    what = filename or f"version {version}"
    return (
        f"Spanner applies a file's statements one by one, so some of {what} may be in "
        f"place. Inspect the schema (gcloud spanner databases ddl describe DATABASE "
        f"--instance=INSTANCE), fix it by hand so that {what} is either fully applied "
        f"or not at all, then run `{CLI} force {version}` (fully applied) or "
        f"`{CLI} force {version - 1}` (not applied), and run `{CLI} up` again."
    )
