"""The sync client against the real service: every area, one behaviour per test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from ledger_client import BadRequest, Conflict, LedgerClient, NotFound
from ledger_client.models import LegCreate, TransferCreate


def test_open_transfer_and_read_back(ledger: LedgerClient, unique: Callable[[str], str]) -> None:
    alice = ledger.open_account("USD", id=unique("alice"))
    bob = ledger.open_account("USD", id=unique("bob"))
    ledger.create_transfer(debit_account_id=alice.id, credit_account_id=bob.id, amount=250)
    snapshot = ledger.balances([alice.id, bob.id])
    assert [b.balance for b in snapshot.balances] == [-250, 250]


def test_open_account_without_id_gets_a_generated_one(ledger: LedgerClient) -> None:
    account = ledger.open_account("EUR")
    assert ledger.get_account(account.id).currency == "EUR"


def test_a_problem_is_an_exception_with_its_code(ledger: LedgerClient) -> None:
    with pytest.raises(NotFound) as caught:
        ledger.get_account("no-such-account")
    assert (caught.value.status, caught.value.code) == (404, "account_not_found")
    assert "no-such-account" in caught.value.detail


def test_insufficient_funds_is_a_conflict(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]]
) -> None:
    bank, wallet = funded(100)
    with pytest.raises(Conflict) as caught:
        ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=101)
    assert caught.value.code == "insufficient_funds"


def test_validation_errors_carry_the_fields(ledger: LedgerClient) -> None:
    with pytest.raises(BadRequest) as caught:
        ledger.open_account("usd")
    assert caught.value.code == "validation_error"
    assert caught.value.errors


def test_same_transfer_twice_replays(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]], unique: Callable[[str], str]
) -> None:
    bank, wallet = funded(100)
    tid = unique("t")
    first = ledger.create_transfer(
        id=tid, debit_account_id=wallet, credit_account_id=bank, amount=5
    )
    again = ledger.create_transfer(
        id=tid, debit_account_id=wallet, credit_account_id=bank, amount=5
    )
    assert again == first
    assert ledger.get_account(wallet).balance == 95


def test_hold_then_partial_post(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]]
) -> None:
    bank, wallet = funded(100)
    hold = ledger.create_transfer(
        debit_account_id=wallet, credit_account_id=bank, amount=60, pending=True
    )
    assert ledger.get_account(wallet).available_balance == 40
    posted = ledger.post_transfer(hold.id, amount=45)
    assert (posted.status, posted.posted_amount) == ("posted", 45)
    assert ledger.get_account(wallet).balance == 55


def test_void_releases_a_hold(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]]
) -> None:
    bank, wallet = funded(100)
    hold = ledger.create_transfer(
        debit_account_id=wallet, credit_account_id=bank, amount=60, pending=True
    )
    assert ledger.void_transfer(hold.id).status == "voided"
    assert ledger.get_account(wallet).available_balance == 100


def test_reverse_links_both_ways(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]]
) -> None:
    bank, wallet = funded(100)
    paid = ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=30)
    refund = ledger.reverse_transfer(paid.id, amount=10)
    assert refund.reverses_transfer_id == paid.id
    assert ledger.get_transfer(paid.id).reversed_amount == 10


def test_close_and_reopen(ledger: LedgerClient, unique: Callable[[str], str]) -> None:
    account = ledger.open_account("USD", id=unique("acct"))
    assert ledger.close_account(account.id).status == "closed"
    assert ledger.reopen_account(account.id).status == "open"


def test_transaction_lifecycle(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]], unique: Callable[[str], str]
) -> None:
    bank, wallet = funded(100)
    shop = ledger.open_account("USD", id=unique("shop")).id
    legs = [
        LegCreate(debit_account_id=wallet, credit_account_id=shop, amount=40),
        LegCreate(debit_account_id=shop, credit_account_id=bank, amount=2),
    ]
    pending = ledger.create_transaction(legs, pending=True)
    posted = ledger.post_transaction(pending.id)
    refund = ledger.reverse_transaction(posted.id)
    assert ledger.get_transaction(posted.id).reversed_by_transaction_id == refund.id
    assert [leg.transaction_id for leg in refund.legs] == [refund.id, refund.id]


def test_void_transaction(ledger: LedgerClient, funded: Callable[[int], tuple[str, str]]) -> None:
    bank, wallet = funded(100)
    legs = [LegCreate(debit_account_id=wallet, credit_account_id=bank, amount=40)]
    pending = ledger.create_transaction(legs, pending=True)
    assert ledger.void_transaction(pending.id).status == "voided"


def test_batch_applies_in_order(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]], unique: Callable[[str], str]
) -> None:
    bank, wallet = funded(100)
    items = [
        TransferCreate(id=unique("b"), debit_account_id=wallet, credit_account_id=bank, amount=m)
        for m in (10, 20)
    ]
    result = ledger.batch(items, atomic=True)
    assert (result.created, result.failed) == (2, 0)
    assert ledger.get_account(wallet).balance == 70


def test_iterators_follow_page_tokens(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]]
) -> None:
    bank, wallet = funded(100)
    for amount in (1, 2, 3, 4):
        ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=amount)
    entries = list(ledger.iter_entries(wallet, page_size=2))
    assert [e.amount for e in entries] == [-4, -3, -2, -1, 100]
    transfers = list(ledger.iter_transfers(account_id=wallet, page_size=2))
    assert len(transfers) == 5


def test_accounts_by_label(ledger: LedgerClient, unique: Callable[[str], str]) -> None:
    tag = unique("team")
    opened = ledger.open_account("USD", labels={"team": tag})
    found = list(ledger.iter_accounts(labels={"team": tag}))
    assert [a.id for a in found] == [opened.id]


def test_balance_as_of_and_statement(
    ledger: LedgerClient, funded: Callable[[int], tuple[str, str]]
) -> None:
    bank, wallet = funded(100)
    between = ledger.get_account(wallet).updated_at
    ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=30)
    assert ledger.get_account_at(wallet, between).balance == 100
    assert ledger.balances_at([wallet, bank], between).balances[0].balance == 100
    statement = ledger.statement(wallet, from_=datetime(2000, 1, 1, tzinfo=UTC))
    assert (statement.credits, statement.debits, statement.closing_balance) == (100, 30, 70)


def test_history_range(ledger: LedgerClient, funded: Callable[[int], tuple[str, str]]) -> None:
    bank, wallet = funded(100)
    later = ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=7)
    page = ledger.list_entries(wallet, from_=later.created_at)
    assert [e.transfer_id for e in page.items] == [later.id]


def test_expire_holds(ledger: LedgerClient) -> None:
    assert ledger.expire_holds().released >= 0
