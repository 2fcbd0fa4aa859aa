"""The audit against a real emulator: a ledger seeded through the HTTP API is whole; a
copy damaged one way is reported with exactly that damage, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import spanner

from api.ids import key_hash
from tests.audit.conftest import Ledger

pytestmark = pytest.mark.emulator


def update(ledger: Ledger, table: str, key: tuple[Any, ...], **columns: Any) -> None:
    with ledger.handle().batch() as batch:
        batch.update(table, [*_key_columns(table), *columns], [[*key, *columns.values()]])


def _key_columns(table: str) -> list[str]:
    return {
        "Accounts": ["KeyHash", "AccountId"],
        "Entries": ["KeyHash", "AccountId", "Sequence"],
        "Transfers": ["KeyHash", "TransferId"],
    }[table]


def account_row(ledger: Ledger, account_id: str) -> dict[str, int]:
    [row] = ledger.query(
        "SELECT CreditsPosted, DebitsPosted, DebitsPending, Version FROM Accounts"
        " WHERE AccountId = @id",
        {"id": account_id},
    )
    return dict(zip(["credits", "debits", "debits_pending", "version"], row, strict=True))


def moving_entry_in_the_middle(ledger: Ledger, account_id: str) -> tuple[int, int]:
    """(sequence, amount) of an entry that moved money and has entries on both sides."""
    rows = ledger.query(
        "SELECT Sequence, Amount FROM Entries WHERE AccountId = @id AND Amount != 0"
        " AND PendingAmount = 0 ORDER BY Sequence",
        {"id": account_id},
    )
    version = account_row(ledger, account_id)["version"]
    sequence, amount = next((s, a) for s, a in rows if 1 < s < version)
    return sequence, amount


def test_the_seeded_ledger_is_whole(seeded):
    report = seeded.audit()
    assert (report.whole, report.findings) == (True, [])


def test_the_audit_counts_what_it_read(seeded):
    counts = seeded.audit().counts
    [[entries]] = seeded.query("SELECT COUNT(*) FROM Entries")
    assert (counts["accounts"], counts["entries"], counts["currencies"]) == (6, entries, 2)


def test_a_copy_of_the_ledger_is_whole(damaged):
    # The rehearsal's restored database, before anything is done to it.
    assert damaged.audit().findings == []


def test_a_changed_balance_is_named_with_its_currency(damaged):
    credits = account_row(damaged, "alice")["credits"]
    update(damaged, "Accounts", (key_hash("alice"), "alice"), CreditsPosted=credits + 5)
    assert damaged.kinds() == {("entries_total", "alice"), ("currency_unbalanced", "USD")}


def test_a_deleted_entry_is_a_gap_in_its_accounts_sequences(damaged):
    sequence, amount = moving_entry_in_the_middle(damaged, "bob")
    with damaged.handle().batch() as batch:
        batch.delete("Entries", spanner.KeySet(keys=[[key_hash("bob"), "bob", sequence]]))
    report = damaged.audit()
    assert {(f.kind, f.id) for f in report.findings} == {
        ("sequence_gap", "bob"),
        ("entries_total", "bob"),  # its totals no longer add up without the entry
    }
    [gap] = [f for f in report.findings if f.kind == "sequence_gap"]
    assert (gap.data["missing"], f"they moved {amount}" in gap.detail) == (
        [[sequence, sequence]],
        True,
    )


@pytest.mark.parametrize(
    ("column", "kind"),
    [("BalanceAfter", "balance_after"), ("DebitsAfter", "entry_totals"),
     ("CreditsAfter", "entry_totals")],
)  # fmt: skip
def test_an_altered_running_sum_is_named_at_its_sequence_alone(damaged, column, kind):
    sequence, _ = moving_entry_in_the_middle(damaged, "alice")
    [[stored]] = damaged.query(
        f"SELECT {column} FROM Entries WHERE AccountId = 'alice' AND Sequence = @s",  # noqa: S608
        {"s": sequence},
    )
    update(damaged, "Entries", (key_hash("alice"), "alice", sequence), **{column: stored + 1})
    [finding] = damaged.audit().findings
    assert (finding.kind, finding.id, finding.data["sequences"]) == (kind, "alice", [sequence])


def test_a_one_sided_entry_unbalances_its_currency_alone(damaged):
    # Forged with care: the account and its history agree, so only the sum over all
    # accounts can tell that money was invented.
    row = account_row(damaged, "carol")
    balance = row["credits"] - row["debits"]
    with damaged.handle().batch() as batch:
        batch.insert(
            "Entries",
            ["KeyHash", "AccountId", "Sequence", "TransferId", "Amount", "BalanceAfter",
             "Kind", "PendingAmount", "PostedAt"],
            [[key_hash("carol"), "carol", row["version"] + 1, "forged", 7, balance + 7,
              "transfer", 0, spanner.COMMIT_TIMESTAMP]],
        )  # fmt: skip
    update(
        damaged, "Accounts", (key_hash("carol"), "carol"),
        CreditsPosted=row["credits"] + 7, Version=row["version"] + 1,
    )  # fmt: skip
    assert damaged.kinds() == {("currency_unbalanced", "EUR")}


def test_a_wrong_pending_total_is_named_against_the_holds_and_entries(damaged):
    held = account_row(damaged, "alice")["debits_pending"]
    update(damaged, "Accounts", (key_hash("alice"), "alice"), DebitsPending=held + 5)
    report = damaged.audit()
    assert {(f.kind, f.id) for f in report.findings} == {
        ("pending_totals", "alice"),
        ("currency_unbalanced", "USD"),  # pending debits no longer equal pending credits
    }
    [finding] = [f for f in report.findings if f.kind == "pending_totals"]
    assert (finding.data["debits_pending"], finding.data["held_debits"]) == (held + 5, held)


def test_a_reversed_amount_above_the_amount_is_named(damaged):
    update(damaged, "Transfers", (key_hash("refund"), "refund"), ReversedAmount=121)
    assert damaged.kinds() == {
        ("transfer_invalid", "refund"),
        ("reversal_total", "refund"),  # its one reversal moved 20
    }


def test_a_missing_leg_is_named_on_its_transaction(damaged):
    with damaged.handle().batch() as batch:
        batch.delete("Transfers", spanner.KeySet(keys=[[key_hash("purchase~1"), "purchase~1"]]))
    assert damaged.kinds() == {("transaction_legs", "purchase")}


def test_small_entry_pages_find_the_same_damage(damaged):
    sequence, _ = moving_entry_in_the_middle(damaged, "alice")
    with damaged.handle().batch() as batch:
        batch.delete("Entries", spanner.KeySet(keys=[[key_hash("alice"), "alice", sequence]]))
    paged = damaged.audit(entry_page=2).findings
    assert paged == damaged.audit().findings
