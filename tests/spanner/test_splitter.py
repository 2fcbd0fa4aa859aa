"""split_statements: pure unit tests of the DDL file splitter."""

from __future__ import annotations

import pytest

from api.spanner.migrations.splitter import SplitError, split_statements
from tests.support import DDL_DIR


def test_splits_on_semicolons_and_strips_whitespace() -> None:
    assert split_statements("  CREATE TABLE A (X INT64) PRIMARY KEY (X);\n\nDROP TABLE B;  ") == [
        "CREATE TABLE A (X INT64) PRIMARY KEY (X)",
        "DROP TABLE B",
    ]


def test_last_statement_needs_no_semicolon() -> None:
    assert split_statements("DROP TABLE A;\nDROP TABLE B") == ["DROP TABLE A", "DROP TABLE B"]


def test_empty_statements_are_dropped() -> None:
    assert split_statements(";;\n ; DROP TABLE A;;;") == ["DROP TABLE A"]


def test_empty_and_comment_only_text_has_no_statements() -> None:
    assert split_statements("") == []
    assert split_statements("-- nothing\n/* at */ # all\n") == []


def test_dash_dash_comment_is_removed_up_to_end_of_line() -> None:
    assert split_statements("DROP TABLE A -- gone; really\n;") == ["DROP TABLE A"]


def test_hash_comment_is_removed_up_to_end_of_line() -> None:
    assert split_statements("# header; with semicolon\nDROP TABLE A; # trailing") == [
        "DROP TABLE A"
    ]


def test_line_comment_at_end_of_file_without_newline() -> None:
    assert split_statements("DROP TABLE A;\n-- the end") == ["DROP TABLE A"]


def test_block_comment_is_removed_even_across_lines_and_semicolons() -> None:
    sql = "CREATE TABLE A (\n  /* one;\n two; */ X INT64\n) PRIMARY KEY (X)"
    assert split_statements(sql) == ["CREATE TABLE A (\n    X INT64\n) PRIMARY KEY (X)"]


def test_block_comment_separates_tokens() -> None:
    assert split_statements("DROP/**/TABLE A") == ["DROP TABLE A"]


def test_comment_markers_inside_block_comment_are_ignored() -> None:
    assert split_statements("/* -- ' \" ` # */ DROP TABLE A") == ["DROP TABLE A"]


def test_block_comment_does_not_nest() -> None:
    assert split_statements("/* /* */ DROP TABLE A") == ["DROP TABLE A"]


def test_semicolon_inside_single_quoted_string_does_not_split() -> None:
    sql = "ALTER TABLE A ALTER COLUMN X SET OPTIONS (description = 'a;b'); DROP TABLE B"
    assert split_statements(sql) == [
        "ALTER TABLE A ALTER COLUMN X SET OPTIONS (description = 'a;b')",
        "DROP TABLE B",
    ]


def test_semicolon_inside_double_quoted_string_does_not_split() -> None:
    assert split_statements('SELECT "a;b"; X') == ['SELECT "a;b"', "X"]


def test_comment_markers_inside_strings_are_kept() -> None:
    sql = "SELECT '-- not a comment', \"# nor this\", '/* nor */'"
    assert split_statements(sql) == [sql]


def test_escaped_quote_inside_string_does_not_end_it() -> None:
    sql = r"SELECT 'it\'s; fine', " + r'"say \"hi;\""'
    assert split_statements(sql + "; X") == [sql, "X"]


def test_escaped_backslash_before_closing_quote() -> None:
    sql = r"SELECT 'ends with \\'"
    assert split_statements(sql + "; X") == [sql, "X"]


def test_doubled_quotes_split_the_same_as_two_adjacent_strings() -> None:
    assert split_statements("SELECT 'a'';'; X") == ["SELECT 'a'';'", "X"]


def test_empty_string_is_not_mistaken_for_a_triple_quote() -> None:
    assert split_statements("SELECT ''; X") == ["SELECT ''", "X"]


def test_triple_quoted_string_spans_lines_and_semicolons() -> None:
    sql = 'SELECT \'\'\'line one;\n -- still string\n it\'s ok\'\'\', """a\n"b"; """'
    assert split_statements(sql + ";\nX") == [sql, "X"]


def test_raw_and_bytes_prefixed_strings() -> None:
    sql = r"SELECT r'\d+;', b'x;y', rb'\'', BR'''a;'''"
    assert split_statements(sql + "; X") == [sql, "X"]


def test_backtick_identifier_may_hold_semicolons_and_comment_markers() -> None:
    sql = "CREATE TABLE `My;Table--#` (`a/*b` INT64) PRIMARY KEY (`a/*b`)"
    assert split_statements(sql + "; X") == [sql, "X"]


def test_escaped_backtick_inside_identifier() -> None:
    sql = r"SELECT `a\`;b`"
    assert split_statements(sql + "; X") == [sql, "X"]


def test_quotes_inside_comments_do_not_open_strings() -> None:
    assert split_statements("-- don't\nDROP TABLE A; # it's\nDROP TABLE B") == [
        "DROP TABLE A",
        "DROP TABLE B",
    ]


def test_minus_and_slash_outside_comments_are_kept() -> None:
    sql = "CREATE INDEX I ON T (A - 1 / 2)"
    assert split_statements(sql) == [sql]


def test_comment_lines_vanish_and_the_layout_stays() -> None:
    sql = (
        "CREATE TABLE A (\n"
        "  -- the key\n"
        "  X INT64,   -- trailing comment\n"
        "\n"
        "  Y STRING(MAX),\t# another\n"
        ") PRIMARY KEY (X);"
    )
    assert split_statements(sql) == [
        "CREATE TABLE A (\n  X INT64,\n\n  Y STRING(MAX),\n) PRIMARY KEY (X)"
    ]


def test_crlf_line_endings() -> None:
    sql = "CREATE TABLE A (\r\n  X INT64, -- key\r\n) PRIMARY KEY (X);\r\nDROP TABLE B;\r\n"
    assert split_statements(sql) == [
        "CREATE TABLE A (\r\n  X INT64,\n) PRIMARY KEY (X)",
        "DROP TABLE B",
    ]


def test_whitespace_inside_triple_quoted_strings_is_untouched() -> None:
    sql = "SELECT '''a   \n\n  b   ''' -- note\n"
    assert split_statements(sql) == ["SELECT '''a   \n\n  b   '''"]


def test_unterminated_string_is_an_error_with_its_line() -> None:
    with pytest.raises(SplitError, match="line 2: unterminated string"):
        split_statements("DROP TABLE A;\nSELECT 'oops;\nDROP TABLE B;")


def test_unterminated_triple_quoted_string_is_an_error() -> None:
    with pytest.raises(SplitError, match="line 1: unterminated triple-quoted string"):
        split_statements("SELECT '''never closed; DROP TABLE B")


def test_unterminated_block_comment_is_an_error() -> None:
    with pytest.raises(SplitError, match="line 3: unterminated /\\* comment"):
        split_statements("DROP TABLE A;\n\n/* forgot to close\nDROP TABLE B;")


def test_unterminated_backtick_identifier_is_an_error() -> None:
    with pytest.raises(SplitError, match="unterminated quoted identifier"):
        split_statements("DROP TABLE `A;")


def test_the_ledger_schema_splits_into_its_statements() -> None:
    statements = split_statements((DDL_DIR / "0001_ledger.sql").read_text())
    assert [s.split("(")[0].strip() for s in statements] == [
        "CREATE TABLE Accounts",
        "CREATE INDEX AccountsByCurrency ON Accounts",
        "CREATE TABLE Transfers",
        "CREATE TABLE Entries",
    ]
    assert not any("--" in s for s in statements)
