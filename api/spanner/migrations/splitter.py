"""Split a GoogleSQL DDL file into statements for ``UpdateDatabaseDdl``.

Spanner takes a list of statements without comments and without the ``;`` between
them, so a file is cut on every ``;`` that is code, never on one inside a string or a
quoted identifier, and its comments are removed on the way.

The lexical rules followed (GoogleSQL):

- comments: ``-- ...`` and ``# ...`` to the end of the line, ``/* ... */`` (not nested);
- strings: ``'...'``, ``"..."``, ``'''...'''`` and ``\"\"\"...\"\"\"`` (which may span
  lines), with any ``r``/``b`` prefix; a backslash escapes the next character, also in
  raw strings, where ``r'\\''`` is a valid literal;
- quoted identifiers: ```...``` with the same backslash escapes.

A block comment is replaced by a space, so ``a/**/b`` stays two tokens; a line comment
goes with the blanks before it, and with its whole line if it had the line to itself, so
a statement reads as written minus its comments. Nothing inside a string is touched.
Each statement is returned stripped; empty ones (``;;``, a file of comments) are dropped.

An unterminated string, identifier or block comment is an error: guessing where it ends
could send half a file to Spanner as one statement.
"""

from __future__ import annotations

__all__ = ["SplitError", "split_statements"]


class SplitError(ValueError):
    """The text cannot be split: something opened on ``line`` is never closed."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def split_statements(sql: str) -> list[str]:
    """The statements of ``sql``, in order, without comments or separators."""
    statements: list[str] = []
    current: list[str] = []  # pieces of the statement being built
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char == ";":
            _flush(current, statements)
            i += 1
        elif char == "#" or sql.startswith("--", i):
            end = sql.find("\n", i)
            _trim_trailing_blanks(current)
            if end == -1:
                break
            # A comment on a line of its own goes with its line; one after code
            # leaves the line break.
            if current and not current[-1].endswith("\n"):
                current.append("\n")
            i = end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                raise SplitError("unterminated /* comment", _line_of(sql, i))
            current.append(" ")
            i = end + 2
        elif char in "'\"`":
            end = _end_of_quoted(sql, i)
            current.append(sql[i:end])
            i = end
        else:
            # Copy the run of ordinary characters up to the next special one.
            j = i + 1
            while j < n and sql[j] not in ";#-/'\"`":
                j += 1
            current.append(sql[i:j])
            i = j
    _flush(current, statements)
    return statements


def _flush(current: list[str], statements: list[str]) -> None:
    text = "".join(current).strip()
    current.clear()
    if text:
        statements.append(text)


def _trim_trailing_blanks(current: list[str]) -> None:
    """Drop the blanks before a line comment (never inside a string or identifier:
    such a piece ends with its closing quote)."""
    while current:
        trimmed = current[-1].rstrip(" \t\r")
        if trimmed:
            current[-1] = trimmed
            return
        current.pop()


def _end_of_quoted(sql: str, start: int) -> int:
    """Index just past the string or quoted identifier that opens at ``start``."""
    quote = sql[start]
    if quote != "`" and sql.startswith(quote * 3, start):
        delimiter = quote * 3
        kind = "triple-quoted string"
    else:
        delimiter = quote
        kind = "quoted identifier" if quote == "`" else "string"
    i, n = start + len(delimiter), len(sql)
    while i < n:
        char = sql[i]
        if char == "\\":
            i += 2
            continue
        if sql.startswith(delimiter, i):
            return i + len(delimiter)
        if char == "\n" and len(delimiter) == 1:
            # Only triple-quoted strings may span lines.
            raise SplitError(
                f"unterminated {kind} (a newline comes before its closing {quote})",
                _line_of(sql, start),
            )
        i += 1
    raise SplitError(f"unterminated {kind}", _line_of(sql, start))


def _line_of(sql: str, index: int) -> int:
    return sql.count("\n", 0, index) + 1
