"""The ledger's rules on a commit's in-memory state: no Spanner needed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from api.accounts.model import AccountRecord
from api.config import Settings
from api.ids import INT64_MAX
from api.ledger.apply import apply, apply_all
from api.ledger.errors import LegFailed, TransferExpired, TransferExpiring
from api.ledger.orders import Order, ResolveOrder, TransactionOrder, TransferOrder
from api.ledger.outcome import Outcome
from api.ledger.records import AccountState
from api.ledger.state import Clock, CommitState, PrefetchMissed
from api.transactions.convert import prepare_transaction
from api.transactions.schemas import LegCreate, TransactionCreate
from api.transfers.convert import prepare
from api.transfers.schemas import TransferCreate
from tests.ledger.memory import T0, account, state_for

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def transfer(tid: str, debit: str = "a", credit: str = "b", amount: int = 10,
             **extra: object) -> TransferOrder:  # fmt: skip
    request = TransferCreate(
        id=tid, debit_account_id=debit, credit_account_id=credit, amount=amount, **extra
    )
    return prepare(request, settings=SETTINGS)


class Book:
    """One commit's state, prefetched for every order the test will apply."""

    def __init__(self, accounts: list[AccountState], orders: list[Order], **stored: object):
        self.state: CommitState = state_for(orders, accounts, **stored)  # type: ignore[arg-type]

    def apply(self, order: Order) -> Outcome:
        return apply(self.state, order)

    def apply_all(self, orders: list[Order]) -> list[Outcome]:
        return apply_all(self.state, orders)

    def balance(self, account_id: str) -> int:
        return self.state.account(account_id).balance

    def entries(self, account_id: str) -> list[tuple[int, int, int]]:
        return [(e.sequence, e.amount, e.balance_after) for e in self.state.entries_of(account_id)]


def applied(accounts: list[AccountState], *orders: Order) -> tuple[Book, list[Outcome]]:
    book = Book(accounts, list(orders))
    return book, book.apply_all(list(orders))


def test_transfer_moves_amount_and_writes_one_entry_per_leg() -> None:
    book, (outcome,) = applied([account("a"), account("b")], transfer("t1", amount=25))
    assert outcome.kind == "created"
    assert (book.balance("a"), book.balance("b")) == (-25, 25)
    assert book.entries("a") == [(1, -25, -25)]
    assert book.entries("b") == [(1, 25, 25)]


def test_identical_replay_in_same_posting_is_replayed_not_applied_twice() -> None:
    book, (first, second) = applied([account("a"), account("b")], transfer("t1"), transfer("t1"))
    assert (first.kind, second.kind) == ("created", "replayed")
    assert book.balance("b") == 10
    assert len(book.state.new_transfers) == 1


def test_changed_body_under_used_id_is_idempotency_conflict() -> None:
    _, (_, outcome) = applied(
        [account("a"), account("b")], transfer("t1", amount=10), transfer("t1", amount=11)
    )
    assert outcome.error is not None and outcome.error.code == "idempotency_conflict"


def test_replay_of_stored_transfer_is_recognised() -> None:
    stored, _ = applied([account("a"), account("b")], transfer("t1"))
    (record,) = stored.state.new_transfers
    later = Book([account("a"), account("b")], [transfer("t1")], transfers=[record])
    assert later.apply(transfer("t1")).kind == "replayed"


def test_same_account_is_rejected() -> None:
    _, (outcome,) = applied([account("a")], transfer("t1", debit="a", credit="a"))
    assert outcome.error is not None and outcome.error.code == "same_account"


def test_missing_account_is_account_not_found() -> None:
    _, (outcome,) = applied([account("a")], transfer("t1", credit="nope"))
    assert outcome.error is not None and outcome.error.code == "account_not_found"


def test_a_lookup_of_a_key_never_read_is_a_bug_not_a_not_found() -> None:
    book = Book([account("a"), account("b")], [transfer("t1")])
    with pytest.raises(PrefetchMissed, match="transfer 't2' was not read"):
        book.apply(transfer("t2", credit="zz"))


def test_currencies_must_match() -> None:
    _, (outcome,) = applied([account("a"), account("b", currency="EUR")], transfer("t1"))
    assert outcome.error is not None and outcome.error.code == "currency_mismatch"


def test_given_currency_must_match_accounts() -> None:
    _, (outcome,) = applied([account("a"), account("b")], transfer("t1", currency="EUR"))
    assert outcome.error is not None and outcome.error.code == "currency_mismatch"


def test_no_overdraft_account_cannot_go_negative() -> None:
    a = account("a", credits=10, no_overdraft=True)
    book, (outcome,) = applied([a, account("b")], transfer("t1", amount=11))
    assert outcome.error is not None and outcome.error.code == "insufficient_funds"
    assert book.balance("a") == 10 and not book.entries("a")


def test_no_overdraft_account_may_reach_exactly_zero() -> None:
    a = account("a", credits=10, no_overdraft=True)
    book, (outcome,) = applied([a, account("b")], transfer("t1", amount=10))
    assert outcome.kind == "created"
    assert book.balance("a") == 0


def test_no_overcredit_account_cannot_go_positive() -> None:
    b = account("b", debits=5, no_overcredit=True)
    _, (outcome,) = applied([account("a"), b], transfer("t1", amount=6))
    assert outcome.error is not None and outcome.error.code == "insufficient_funds"


def test_later_transfer_sees_balance_left_by_earlier_one() -> None:
    a = account("a", credits=15, no_overdraft=True)
    _, (first, second) = applied(
        [a, account("b")], transfer("t1", amount=10), transfer("t2", amount=10)
    )
    assert first.kind == "created"
    assert second.error is not None and second.error.code == "insufficient_funds"


def test_failed_transfer_changes_nothing_and_neighbours_still_apply() -> None:
    book, outcomes = applied(
        [account("a"), account("b")], transfer("t1"), transfer("t2", credit="zz"), transfer("t3")
    )
    assert [o.kind for o in outcomes] == ["created", "failed", "created"]
    assert [e.sequence for e in book.state.entries_of("b")] == [1, 2]


def test_totals_overflow_is_rejected() -> None:
    b = account("b", credits=INT64_MAX - 5)
    _, (outcome,) = applied([account("a"), b], transfer("t1", amount=6))
    assert outcome.error is not None and outcome.error.code == "amount_overflow"


@pytest.mark.parametrize("amount", [0, -1, 2**63, 1.5, "10", True])
def test_amount_must_be_positive_int64(amount: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        TransferCreate.model_validate(
            {"id": "t", "debit_account_id": "a", "credit_account_id": "b", "amount": amount}
        )


# --- multi-leg transactions -----------------------------------------------------------


def transaction(tid: str, *legs: tuple[str, str, int], **extra: object) -> TransactionOrder:
    request = TransactionCreate(
        id=tid,
        legs=[
            LegCreate(debit_account_id=d, credit_account_id=c, amount=amount)
            for d, c, amount in legs
        ],
        **extra,
    )
    return prepare_transaction(request, settings=SETTINGS)


def test_a_failing_leg_undoes_the_legs_before_it_and_leaves_neighbours_alone() -> None:
    a, b, c = account("a", credits=50, no_overdraft=True), account("b"), account("c")
    failing = transaction("x", ("a", "c", 30), ("b", "c", 5), ("a", "b", 30))
    after_it = transaction("y", ("a", "c", 40))
    book = Book([a, b, c], [transfer("t1", "a", "b", 10), failing, after_it])
    assert book.apply(transfer("t1", "a", "b", 10)).kind == "created"
    failed = book.apply(failing)
    assert failed.kind == "failed"
    assert isinstance(failed.error, LegFailed) and failed.error.index == 2
    assert failed.error.code == "insufficient_funds"
    assert (book.balance("a"), book.balance("b"), book.balance("c")) == (40, 10, 0)
    assert [e.transfer_id for e in book.state.entries_of("a")] == ["t1"]
    assert book.state.entries_of("c") == []
    assert [t.id for t in book.state.new_transfers] == ["t1"]
    assert book.state.new_transactions == []
    after = book.apply(after_it)
    assert after.kind == "created" and book.balance("a") == 0


def test_legs_of_one_transaction_see_each_other() -> None:
    accounts = [
        account("a", credits=10, no_overdraft=True),
        account("b", no_overdraft=True),
        account("c"),
    ]
    book, (outcome,) = applied(accounts, transaction("x", ("a", "b", 10), ("b", "c", 10)))
    assert outcome.kind == "created"
    assert [leg.id for leg in outcome.legs] == ["x~0", "x~1"]
    assert {leg.transaction_id for leg in outcome.legs} == {"x"}
    assert (book.balance("a"), book.balance("b"), book.balance("c")) == (0, 0, 10)


def test_a_transaction_replayed_in_the_same_posting_is_not_applied_twice() -> None:
    order = transaction("x", ("a", "b", 10))
    book, (first, replay) = applied([account("a"), account("b")], order, order)
    assert first.kind == "created"
    assert replay.kind == "replayed" and [leg.id for leg in replay.legs] == ["x~0"]
    assert {a.id: a.balance for a in book.state.changed_accounts}["b"] == 10


# --- holds near their expiry --------------------------------------------------------


def hold_posting(*, prompt_commit_in: float) -> Book:
    """A commit whose request budget (10 s) outlasts a 1 s hold it has just made; a
    commit cut to its shortest budget would land ``prompt_commit_in`` seconds from now."""
    clock = Clock(
        now=T0,
        latest_commit=T0 + timedelta(seconds=10),
        latest_prompt_commit=T0 + timedelta(seconds=prompt_commit_in),
    )
    order = transfer("h1", pending=True, timeout_seconds=1)
    book = Book([account("a"), account("b")], [order], clock=clock)
    assert book.apply(order).kind == "created"
    return book


def test_a_post_that_could_land_after_expiry_is_applied_with_its_commit_cut_before_it() -> None:
    book = hold_posting(prompt_commit_in=0.6)
    outcome = book.apply(ResolveOrder("h1", "post"))
    assert outcome.transfer is not None and outcome.transfer.status == "posted"
    assert book.state.commit_before == T0 + timedelta(seconds=1)


def test_a_post_too_close_to_expiry_to_commit_before_it_is_refused_as_expiring() -> None:
    book = hold_posting(prompt_commit_in=1.2)
    outcome = book.apply(ResolveOrder("h1", "post"))
    assert isinstance(outcome.error, TransferExpiring)
    assert outcome.error.code == "transfer_expiring" != TransferExpired.code
    assert book.state.commit_before is None


def test_a_hold_too_close_to_expiry_to_post_can_still_be_voided() -> None:
    book = hold_posting(prompt_commit_in=1.2)
    outcome = book.apply(ResolveOrder("h1", "void"))
    assert outcome.transfer is not None and outcome.transfer.status == "voided"


def test_booking_an_account_copies_it_as_replace_would() -> None:
    record = AccountRecord(
        id="a", currency="USD", debits_must_not_exceed_credits=True,
        credits_must_not_exceed_debits=False, debits_posted=1, credits_posted=2,
        debits_pending=3, credits_pending=4, version=5, lower_bound=-9, upper_bound=9,
        metadata={"k": 1}, request_hash="h", created_at=T0, updated_at=T0, labels={"x": "y"},
    )  # fmt: skip
    booked = record.booked(debits_posted=10, credits_posted=20, debits_pending=30,
                           credits_pending=40)  # fmt: skip
    assert booked == dataclasses.replace(
        record, debits_posted=10, credits_posted=20, debits_pending=30, credits_pending=40,
        version=6,
    )  # fmt: skip
    assert type(booked) is AccountRecord and record.version == 5
