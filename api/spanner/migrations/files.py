"""The migration files: ``NNNN_name.sql``, found, read, checked and checksummed.

Names
    Four digits (the version, from 0001, no gaps, no duplicates), then lowercase letters,
    digits and ``_``. Each file is split into statements (comments removed, see
    ``splitter``) and applied as ONE ``UpdateDatabaseDdl`` batch. A file is never edited
    once applied: its sha256 is recorded and checked on every run.

Fine-grained access control
    The emulator rejects ``CREATE/ALTER/DROP ROLE``, ``GRANT`` and ``REVOKE``. A file that
    holds any of them must say so on its very first line::

        -- requires: fine-grained-access-control

    On the emulator those statements are skipped with a notice and the rest of the file
    is applied; the file counts as applied. On Cloud Spanner they run like any other.
    Such a statement in a file without the marker is refused everywhere, so a file that
    works on Spanner also works locally and vice versa.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from api.spanner.migrations.errors import MigrationError
from api.spanner.migrations.splitter import SplitError, split_statements

__all__ = ["FGAC_MARKER", "Migration", "head", "is_fgac_statement", "load_migrations"]

FGAC_MARKER = "-- requires: fine-grained-access-control"

FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_MARKER_LINE = re.compile(r"^--\s*requires:\s*fine-grained-access-control\s*$", re.IGNORECASE)
_FGAC_STATEMENT = re.compile(r"^(?:GRANT|REVOKE)\b|^(?:CREATE|ALTER|DROP)\s+ROLE\b", re.IGNORECASE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # "ledger" for 0001_ledger.sql
    path: Path
    checksum: str  # sha256 hex of the file's bytes
    statements: tuple[str, ...]
    requires_fgac: bool = False  # the file starts with FGAC_MARKER

    @property
    def filename(self) -> str:
        return self.path.name

    def statements_for(self, *, emulator: bool) -> tuple[list[str], list[str]]:
        """(statements to send, FGAC statements skipped) for this target."""
        if not (emulator and self.requires_fgac):
            return list(self.statements), []
        send = [s for s in self.statements if not is_fgac_statement(s)]
        skipped = [s for s in self.statements if is_fgac_statement(s)]
        return send, skipped


def is_fgac_statement(statement: str) -> bool:
    """CREATE/ALTER/DROP ROLE, GRANT or REVOKE (comment-free, as the splitter returns)."""
    return bool(_FGAC_STATEMENT.match(statement.lstrip()))


def load_migrations(ddl_dir: Path) -> list[Migration]:
    """Every ``NNNN_name.sql`` of ``ddl_dir``, in version order, validated.

    Raises ``MigrationError`` for a missing directory, a badly named ``.sql`` file,
    duplicate or missing versions, a file that cannot be split or holds no statement,
    and fine-grained access control statements in a file without the marker.
    """
    ddl_dir = Path(ddl_dir)
    if not ddl_dir.is_dir():
        raise MigrationError(f"migrations directory {ddl_dir} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(ddl_dir.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() != ".sql" or not path.is_file():
            continue
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files are named NNNN_name.sql (four digits, "
                f"then lowercase letters, digits and _), e.g. 0002_add_entries_index.sql"
            )
        version = int(match[1])
        if version == 0:
            raise MigrationError(f"{path.name}: versions start at 0001")
        if version in found:
            raise MigrationError(
                f"{found[version].filename} and {path.name} both have version {version:04d}: "
                f"give the newer one the next free number"
            )
        found[version] = _read_migration(path, version, match[2])
    migrations = [found[version] for version in sorted(found)]
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            after = f"after {migrations[expected - 2].filename}" if expected > 1 else "first"
            raise MigrationError(
                f"version {expected:04d} is missing: {migration.filename} comes {after}. "
                f"Versions are consecutive from 0001; renumber {migration.filename}."
            )
    return migrations


def _read_migration(path: Path, version: int, name: str) -> Migration:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise MigrationError(f"{path.name} is not UTF-8: {exc}") from exc
    try:
        statements = split_statements(text)
    except SplitError as exc:
        raise MigrationError(f"{path.name}: {exc}") from exc
    if not statements:
        raise MigrationError(f"{path.name} holds no statement (only comments or blanks)")
    lines = text.splitlines()
    marked = bool(lines) and bool(_MARKER_LINE.match(lines[0].strip()))
    fgac = [s for s in statements if is_fgac_statement(s)]
    if fgac and not marked:
        misplaced = any(_MARKER_LINE.match(line.strip()) for line in lines)
        raise MigrationError(
            f"{path.name} holds fine-grained access control statements "
            f"({head(fgac[0])}), which the emulator cannot run: make `{FGAC_MARKER}` "
            f"the file's first line"
            + (" (it is in the file, but not on the first line)" if misplaced else "")
            + " so that they are skipped on the emulator and applied on Cloud Spanner."
        )
    return Migration(
        version=version,
        name=name,
        path=path,
        checksum=hashlib.sha256(data).hexdigest(),
        statements=tuple(statements),
        requires_fgac=marked,
    )


def head(statement: str, limit: int = 60) -> str:
    """``statement`` on one line, cut to ``limit`` characters, for messages."""
    line = " ".join(statement.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
