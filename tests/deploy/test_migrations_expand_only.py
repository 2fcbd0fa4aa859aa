"""spanner_ddl/ only expands the schema, so the revision that is serving keeps working.

The deploy (cloudbuild-deploy.yaml) migrates while the previous revision still takes
all the traffic, and the schema stays migrated when a later step fails or a rollback
sends traffic back to an older revision. So every statement must be one an older
revision cannot notice: new tables, indexes, roles and grants; new columns that are
nullable or have a default; wider STRING/BYTES columns. Anything else - DROP, RENAME,
REVOKE, a narrower or retyped column, NOT NULL on a column old code leaves NULL, a new
constraint old code may violate - is a contraction: it belongs in a release after the
last revision that used the old shape is gone, and is listed in CONTRACTIONS below with
the reason it is safe then (docs/DEPLOY.md, "Schema changes").

The statements come from the runner's own loader; column types are tracked across the
files in order, so a widening is judged against what the column was.
"""

from __future__ import annotations

import re

import pytest

from api.spanner.migrations import load_migrations
from tests.support import DDL_DIR

# (file, first words of the statement) -> why it is safe when it is applied.
CONTRACTIONS: dict[tuple[str, str], str] = {}

_SCALAR = r"INT64|FLOAT64|FLOAT32|BOOL|JSON|TIMESTAMP|DATE|NUMERIC"
_TYPE = re.compile(rf"^(?:{_SCALAR}|(?:STRING|BYTES)\((?:\d+|MAX)\))$")
_COLUMN = re.compile(r"^\s*([A-Za-z_]\w*)\s+(\S+?)(\s.*)?,?\s*$")
_ADDITIVE = re.compile(
    r"^(CREATE\s+(TABLE|(UNIQUE\s+|NULL_FILTERED\s+)*INDEX|ROLE|CHANGE\s+STREAM|VIEW|"
    r"SEQUENCE|SEARCH\s+INDEX)\b|GRANT\b|ALTER\s+DATABASE\b)",
    re.IGNORECASE,
)
_ADD_COLUMN = re.compile(
    r"^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+(\S+)(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_ALTER_COLUMN = re.compile(
    r"^ALTER\s+TABLE\s+(\w+)\s+ALTER\s+COLUMN\s+(\w+)\s+(\S+)(.*)$", re.IGNORECASE | re.DOTALL
)
_CREATE_TABLE = re.compile(
    r"^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*PRIMARY\s+KEY",
    re.IGNORECASE | re.DOTALL,
)

Columns = dict[tuple[str, str], tuple[str, bool]]  # (table, column) -> (type, not null)


def without_comments(statement: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in statement.splitlines()).strip()


def table_columns(table: str, body: str) -> Columns:
    columns: Columns = {}
    for line in body.splitlines():
        match = _COLUMN.match(line.rstrip(","))
        if match and _TYPE.match(match.group(2)):
            rest = match.group(3) or ""
            columns[(table, match.group(1))] = (match.group(2), "NOT NULL" in rest.upper())
    return columns


def length(kind: str) -> float:
    inner = kind[kind.index("(") + 1 : -1]
    return float("inf") if inner == "MAX" else int(inner)


def added_column(table: str, column: str, kind: str, rest: str, columns: Columns) -> str | None:
    not_null = "NOT NULL" in rest.upper()
    columns[(table, column)] = (kind, not_null)
    if not_null and "DEFAULT" not in rest.upper():
        return "a NOT NULL column without a default: older code inserts rows without it"
    return None


def altered_column(table: str, column: str, kind: str, rest: str, columns: Columns) -> str | None:
    before = columns.get((table, column))
    if before is None:
        return f"{table}.{column} is not a column this test knows"
    old_kind, old_not_null = before
    not_null = "NOT NULL" in rest.upper()
    columns[(table, column)] = (kind, not_null)
    if not_null and not old_not_null:
        return "NOT NULL on a column older code may leave NULL"
    same_base = old_kind.partition("(")[0] == kind.partition("(")[0]
    if old_kind == kind or (same_base and "(" in kind and length(kind) >= length(old_kind)):
        return None
    return f"{old_kind} -> {kind} is not a widening"


def contraction(statement: str, columns: Columns) -> str | None:
    """Why ``statement`` could break the serving revision, or None; updates ``columns``."""
    sql = without_comments(statement)
    if created := _CREATE_TABLE.match(sql):
        columns.update(table_columns(created.group(1), created.group(2)))
        return None
    if added := _ADD_COLUMN.match(sql):
        return added_column(*added.groups(), columns)
    if altered := _ALTER_COLUMN.match(sql):
        return altered_column(*altered.groups(), columns)
    if _ADDITIVE.match(sql):
        return None
    return "not an additive statement (drop, rename, revoke, constraint, ...)"


def key(filename: str, statement: str) -> tuple[str, str]:
    return filename, " ".join(without_comments(statement).split()[:6])


def test_every_migration_keeps_the_serving_revision_working():
    columns: Columns = {}
    found = {}
    for migration in load_migrations(DDL_DIR):
        for statement in migration.statements:
            reason = contraction(statement, columns)
            if reason is not None:
                found[key(migration.filename, statement)] = reason
    unexplained = {k: why for k, why in found.items() if k not in CONTRACTIONS}
    assert unexplained == {}


def test_every_listed_contraction_is_still_in_the_migrations():
    statements = {key(m.filename, s) for m in load_migrations(DDL_DIR) for s in m.statements}
    assert set(CONTRACTIONS) <= statements


@pytest.mark.parametrize(
    ("statement", "breaks"),
    [
        ("CREATE TABLE T2 (A INT64 NOT NULL,) PRIMARY KEY (A)", False),
        ("CREATE INDEX TByB ON T (B)", False),
        ("GRANT SELECT ON TABLE T TO ROLE r", False),
        ("ALTER TABLE T ADD COLUMN C STRING(10)", False),
        ("ALTER TABLE T ADD COLUMN C BOOL NOT NULL DEFAULT (false)", False),
        ("ALTER TABLE T ALTER COLUMN B STRING(80)", False),
        ("ALTER TABLE T ALTER COLUMN B STRING(MAX)", False),
        ("ALTER TABLE T ADD COLUMN C INT64 NOT NULL", True),
        ("ALTER TABLE T ALTER COLUMN B STRING(10)", True),
        ("ALTER TABLE T ALTER COLUMN B BYTES(64)", True),
        ("ALTER TABLE T ALTER COLUMN B STRING(64) NOT NULL", True),
        ("ALTER TABLE T DROP COLUMN B", True),
        ("DROP TABLE T", True),
        ("DROP INDEX TByB", True),
        ("REVOKE SELECT ON TABLE T FROM ROLE r", True),
        ("ALTER TABLE T ADD CONSTRAINT BPositive CHECK (LENGTH(B) > 0)", True),
    ],
)
def test_the_check_tells_expansions_from_contractions(statement, breaks):
    columns: Columns = {("T", "A"): ("INT64", True), ("T", "B"): ("STRING(64)", False)}
    assert (contraction(statement, columns) is not None) is breaks
