"""``python -m api.audit`` as a process: the report, and what its exit status says."""

from __future__ import annotations

import json
import subprocess

import pytest

from api.ids import key_hash
from tests.audit.conftest import Ledger
from tests.audit.test_service import account_row, update
from tests.support import run_tool

pytestmark = pytest.mark.emulator


def audit(
    ledger: Ledger, *args: str, database: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_tool("api.audit", ledger.emulator_host, database or ledger.database_id, *args)


def test_a_whole_ledger_exits_0_with_a_report(seeded):
    done = audit(seeded)
    assert (done.returncode, "ledger whole: every check passed" in done.stdout) == (0, True)


def test_a_damaged_ledger_exits_1_naming_the_damage_in_json(damaged):
    credits = account_row(damaged, "bob")["credits"]
    update(damaged, "Accounts", (key_hash("bob"), "bob"), CreditsPosted=credits + 1)
    done = audit(damaged, "--json")
    report = json.loads(done.stdout)
    assert (done.returncode, report["whole"], report["severity"]) == (1, False, "ERROR")
    assert {(f["kind"], f["id"]) for f in report["findings"]} == {
        ("entries_total", "bob"),
        ("currency_unbalanced", "USD"),
    }


def test_a_database_that_is_not_there_exits_2(seeded):
    done = audit(seeded, database="no-such-database")
    assert (done.returncode, done.stdout) == (2, "")
    assert "error: Spanner" in done.stderr


def test_bad_usage_exits_2(seeded):
    assert audit(seeded, "--entry-page", "0").returncode == 2
