"""The per-account checks and the entry windows, without a database."""

from __future__ import annotations

from api.audit.checks import AccountCheck, AuditAccount, AuditEntry
from api.audit.repository import INT64_MIN, entry_windows
from api.ids import INT64_MAX


def account(version: int, credits: int) -> AuditAccount:
    return AuditAccount(1, "a", "USD", 0, credits, 0, 0, version)


def credit(sequence: int, amount: int, after: int) -> AuditEntry:
    return AuditEntry(sequence, amount, after, 0)


def test_windows_cover_every_sequence_and_what_lies_outside():
    assert entry_windows(5, 2) == [(INT64_MIN, 2), (3, 4), (5, INT64_MAX)]


def test_an_account_without_entries_is_read_in_one_window():
    assert entry_windows(0, 1000) == [(INT64_MIN, INT64_MAX)]


def test_missing_newest_entries_are_a_gap_up_to_the_version():
    check = AccountCheck(account(version=3, credits=10))
    check.feed(credit(1, 10, 10))
    [finding] = [f for f in check.finish() if f.kind == "sequence_gap"]
    assert finding.data["missing"] == [[2, 3]]


def test_a_gap_reports_what_the_missing_entries_moved():
    check = AccountCheck(account(version=3, credits=10))
    check.feed(credit(1, 2, 2))
    check.feed(credit(3, 3, 10))  # sequence 2 moved 5
    [gap] = [f for f in check.finish() if f.kind == "sequence_gap"]
    assert "they moved 5" in gap.detail


def test_an_altered_entry_total_is_named_alone_and_entries_without_totals_are_not_checked():
    check = AccountCheck(account(version=4, credits=10))
    check.feed(AuditEntry(1, 2, 2, 0))  # written before 0015: no totals
    check.feed(AuditEntry(2, 3, 5, 0, totals_after=(0, 5)))
    check.feed(AuditEntry(3, 4, 9, 0, totals_after=(0, 8)))  # should be (0, 9)
    check.feed(AuditEntry(4, 1, 10, 0, totals_after=(0, 10)))
    [finding] = check.finish()
    assert (finding.kind, finding.data) == ("entry_totals", {"sequences": [3], "count": 1})
