"""``ledger`` against the real service: each command, tables and --json."""

from __future__ import annotations

from collections.abc import Callable

from tests.cli.conftest import Run


def open_pair(ledger: Run, unique: Callable[[str], str], funds: int = 1000) -> tuple[str, str]:
    bank, wallet = unique("bank"), unique("wallet")
    ledger("accounts", "open", "--currency", "USD", "--id", bank)
    ledger("accounts", "open", "--currency", "USD", "--id", wallet, "--wallet")
    ledger("transfer", "--from", bank, "--to", wallet, "--amount", str(funds))
    return bank, wallet


def test_open_prints_the_account(ledger: Run, unique: Callable[[str], str]) -> None:
    account = unique("acct")
    result = ledger("accounts", "open", "--currency", "USD", "--id", account)
    assert f"id                 {account}" in result.out


def test_json_output_is_the_api_shape(ledger: Run, unique: Callable[[str], str]) -> None:
    opened = ledger("--json", "accounts", "open", "--currency", "EUR").json()
    shown = ledger("--json", "accounts", "show", opened["id"]).json()
    assert (shown["id"], shown["currency"], shown["balance"]) == (opened["id"], "EUR", 0)


def test_transfer_then_balances(ledger: Run, unique: Callable[[str], str]) -> None:
    bank, wallet = open_pair(ledger, unique, funds=700)
    body = ledger("--json", "balances", bank, wallet).json()
    assert [b["balance"] for b in body["balances"]] == [-700, 700]


def test_balances_table(ledger: Run, unique: Callable[[str], str]) -> None:
    bank, wallet = open_pair(ledger, unique, funds=700)
    lines = ledger("balances", bank, wallet).out.splitlines()
    assert lines[0].split() == [
        "ACCOUNT_ID",
        "CURRENCY",
        "BALANCE",
        "DEBITS_PENDING",
        "CREDITS_PENDING",
    ]
    assert lines[1].split()[:3] == [bank, "USD", "-700"]
    assert lines[-1].startswith("read at ")


def test_hold_and_post(ledger: Run, unique: Callable[[str], str]) -> None:
    bank, wallet = open_pair(ledger, unique)
    hold = ledger("--json", "hold", "--from", wallet, "--to", bank, "--amount", "300").json()
    posted = ledger("--json", "post", hold["id"], "--amount", "200").json()
    assert (posted["status"], posted["posted_amount"]) == ("posted", 200)


def test_hold_and_void(ledger: Run, unique: Callable[[str], str]) -> None:
    bank, wallet = open_pair(ledger, unique)
    hold = ledger("--json", "hold", "--from", wallet, "--to", bank, "--amount", "300").json()
    assert ledger("--json", "void", hold["id"]).json()["status"] == "voided"


def test_reverse(ledger: Run, unique: Callable[[str], str]) -> None:
    bank, wallet = open_pair(ledger, unique)
    paid = ledger("--json", "transfer", "--from", wallet, "--to", bank, "--amount", "50").json()
    refund = ledger("--json", "reverse", paid["id"], "--amount", "20").json()
    assert refund["reverses_transfer_id"] == paid["id"]


def test_history_newest_first(ledger: Run, unique: Callable[[str], str]) -> None:
    bank, wallet = open_pair(ledger, unique)
    ledger("transfer", "--from", wallet, "--to", bank, "--amount", "5")
    entries = ledger("--json", "history", wallet).json()
    assert [e["amount"] for e in entries] == [-5, 1000]


def test_statement(ledger: Run, unique: Callable[[str], str]) -> None:
    _bank, wallet = open_pair(ledger, unique)
    body = ledger("--json", "statement", wallet, "--from", "2000-01-01T00:00:00Z").json()
    assert (body["credits"], body["closing_balance"], body["entry_count"]) == (1000, 1000, 1)


def test_list_by_label(ledger: Run, unique: Callable[[str], str]) -> None:
    team = unique("team")
    ledger("accounts", "open", "--currency", "USD", "--label", f"team={team}")
    rows = ledger("accounts", "list", "--label", f"team={team}").out.splitlines()
    assert len(rows) == 2
    assert f"team={team}" in rows[1]


def test_close_then_a_transfer_fails_with_the_code(
    ledger: Run, unique: Callable[[str], str]
) -> None:
    bank, wallet = open_pair(ledger, unique)
    ledger("accounts", "close", bank)
    result = ledger("transfer", "--from", wallet, "--to", bank, "--amount", "1", check=False)
    assert result.code == 1
    assert "409 account_closed" in result.err


def test_show_as_of(ledger: Run, unique: Callable[[str], str]) -> None:
    bank, wallet = open_pair(ledger, unique)
    before = ledger("--json", "accounts", "show", wallet).json()["updated_at"]
    ledger("transfer", "--from", wallet, "--to", bank, "--amount", "10")
    past = ledger("--json", "accounts", "show", wallet, "--as-of", before).json()
    assert past["balance"] == 1000
