"""What the DDL files of spanner_ddl/ grant to each database role, read with the
migration runner's own splitter (the emulator runs no GRANT, so this is how the grants
are checked): tests/spanner/test_roles.py holds the roles to their purpose,
tests/deploy/test_docs.py holds docs/SECURITY.md's table to them."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from api.spanner.migrations.splitter import split_statements

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NAMES = rf"{_NAME}(?:\s*,\s*{_NAME})*"
# GRANT privilege[(columns)], ... ON TABLE t, ... TO ROLE r, ...
_GRANT_TABLE = re.compile(
    rf"^GRANT\s+(?P<privileges>.+?)\s+ON\s+TABLE\s+(?P<tables>{_NAMES})\s+"
    rf"TO\s+ROLE\s+(?P<roles>{_NAMES})$",
    re.IGNORECASE | re.DOTALL,
)
# GRANT ROLE parent, ... TO ROLE child, ...: the child inherits the parents' privileges.
_GRANT_ROLE = re.compile(
    rf"^GRANT\s+ROLE\s+(?P<parents>{_NAMES})\s+TO\s+ROLE\s+(?P<roles>{_NAMES})$",
    re.IGNORECASE | re.DOTALL,
)
_CREATE_ROLE = re.compile(rf"^CREATE\s+ROLE\s+(?P<role>{_NAME})$", re.IGNORECASE)
# GRANT SELECT ON CHANGE STREAM s TO ROLE r; GRANT EXECUTE ON TABLE FUNCTION f TO ROLE r:
# held as privileges on "CHANGE STREAM s" and "TABLE FUNCTION f".
_GRANT_OBJECT = re.compile(
    rf"^GRANT\s+(?P<privileges>SELECT|EXECUTE)\s+ON\s+(?P<kind>CHANGE\s+STREAM|TABLE\s+FUNCTION)\s+"
    rf"(?P<name>{_NAME})\s+TO\s+ROLE\s+(?P<roles>{_NAMES})$",
    re.IGNORECASE,
)
_CREATE_CHANGE_STREAM = re.compile(rf"^CREATE\s+CHANGE\s+STREAM\s+(?P<stream>{_NAME})\b", re.I)
_CREATE_TABLE = re.compile(
    rf"^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<table>{_NAME})\b", re.I
)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",")]


def _privileges(text: str) -> set[str]:
    # Column lists, e.g. SELECT(a, b), count as the privilege on the table.
    without_columns = re.sub(r"\([^)]*\)", "", text)
    return {p.strip().upper() for p in without_columns.split(",") if p.strip()}


@dataclass
class Grants:
    """What the DDL files grant, resolved through role inheritance."""

    statements: list[str]
    roles: set[str] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)
    direct: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    parents: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def parse(cls, ddl_dir: Path) -> Grants:
        statements = [
            statement
            for path in sorted(ddl_dir.glob("*.sql"))
            for statement in split_statements(path.read_text())
        ]
        grants = cls(statements)
        for statement in statements:
            grants._add(" ".join(statement.split()))
        return grants

    def _add(self, statement: str) -> None:
        if match := _CREATE_ROLE.match(statement):
            self.roles.add(match["role"])
        elif match := _CREATE_TABLE.match(statement):
            self.tables.add(match["table"])
        elif match := _CREATE_CHANGE_STREAM.match(statement):
            # A change stream comes with its read function, READ_<stream>.
            self.tables |= {f"CHANGE STREAM {match['stream']}",
                            f"TABLE FUNCTION READ_{match['stream']}"}  # fmt: skip
        elif match := _GRANT_OBJECT.match(statement):
            kind = " ".join(match["kind"].upper().split())
            for role in _names(match["roles"]):
                self.direct[role][f"{kind} {match['name']}"].add(match["privileges"].upper())
        elif match := _GRANT_ROLE.match(statement):
            for role in _names(match["roles"]):
                self.parents[role].update(_names(match["parents"]))
        elif match := _GRANT_TABLE.match(statement):
            for role in _names(match["roles"]):
                for table in _names(match["tables"]):
                    self.direct[role][table] |= _privileges(match["privileges"])
        elif re.match(r"^(GRANT|REVOKE|ALTER\s+ROLE|DROP\s+ROLE)\b", statement, re.I):
            raise AssertionError(f"this test does not understand: {statement!r}; teach it")

    def of(self, role: str) -> dict[str, set[str]]:
        """Every privilege ``role`` holds, its own and inherited."""
        held: dict[str, set[str]] = defaultdict(set)
        seen: set[str] = set()
        todo = [role]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            for table, privileges in self.direct.get(current, {}).items():
                held[table] |= privileges
            todo.extend(self.parents.get(current, ()))
        return dict(held)
