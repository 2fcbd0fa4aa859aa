"""The ledger's rules on in-memory state: no Spanner needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.accounts.model import AccountRecord
from api.config import Settings
from api.ids import INT64_MAX
from api.transactions.convert import prepare_transaction
from api.transactions.model import TransactionOrder
from api.transactions.schemas import LegCreate, TransactionCreate
from api.transfers.convert import prepare
from api.transfers.errors import LegFailed, TransferExpired, TransferExpiring
from api.transfers.model import ResolveOrder, TransferOrder
from api.transfers.posting import Clock, Posting
from api.transfers.schemas import TransferCreate

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def account(account_id: str, *, currency: str = "USD", credits: int = 0, debits: int = 0,
            no_overdraft: bool = False, no_overcredit: bool = False) -> AccountRecord:  # fmt: skip
    return AccountRecord(
        id=account_id, currency=currency,
        debits_must_not_exceed_credits=no_overdraft,
        credits_must_not_exceed_debits=no_overcredit,
        metadata=None, debits_posted=debits, credits_posted=credits,
        debits_pending=0, credits_pending=0, version=0, request_hash="x",
        created_at=None, updated_at=None,
    )  # fmt: skip


def transfer(tid: str, debit: str = "a", credit: str = "b", amount: int = 10,
             **extra: object) -> TransferOrder:  # fmt: skip
    request = TransferCreate(
        id=tid, debit_account_id=debit, credit_account_id=credit, amount=amount, **extra
    )
    return prepare(request, settings=SETTINGS)


def posting(*accounts: AccountRecord) -> Posting:
    return Posting({a.id: a for a in accounts}, {})


def test_transfer_moves_amount_and_writes_one_entry_per_leg() -> None:
    a, b = account("a"), account("b")
    outcome = posting(a, b).apply(transfer("t1", amount=25))
    assert outcome.kind == "created"
    assert (a.balance, b.balance) == (-25, 25)
    assert [(e.sequence, e.amount, e.balance_after) for e in a.new_entries] == [(1, -25, -25)]
    assert [(e.sequence, e.amount, e.balance_after) for e in b.new_entries] == [(1, 25, 25)]


def test_identical_replay_in_same_posting_is_replayed_not_applied_twice() -> None:
    a, b = account("a"), account("b")
    p = posting(a, b)
    first, second = p.apply_all([transfer("t1"), transfer("t1")])
    assert (first.kind, second.kind) == ("created", "replayed")
    assert b.balance == 10
    assert len(p.new_transfers) == 1


def test_changed_body_under_used_id_is_idempotency_conflict() -> None:
    p = posting(account("a"), account("b"))
    p.apply(transfer("t1", amount=10))
    outcome = p.apply(transfer("t1", amount=11))
    assert outcome.error is not None and outcome.error.code == "idempotency_conflict"


def test_replay_of_stored_transfer_is_recognised() -> None:
    stored = Posting({"a": account("a"), "b": account("b")}, {})
    stored.apply(transfer("t1"))
    (record,) = stored.new_transfers
    later = Posting({"a": account("a"), "b": account("b")}, {"t1": record})
    assert later.apply(transfer("t1")).kind == "replayed"


def test_same_account_is_rejected() -> None:
    outcome = posting(account("a")).apply(transfer("t1", debit="a", credit="a"))
    assert outcome.error is not None and outcome.error.code == "same_account"


def test_missing_account_is_account_not_found() -> None:
    outcome = posting(account("a")).apply(transfer("t1", credit="nope"))
    assert outcome.error is not None and outcome.error.code == "account_not_found"


def test_currencies_must_match() -> None:
    outcome = posting(account("a"), account("b", currency="EUR")).apply(transfer("t1"))
    assert outcome.error is not None and outcome.error.code == "currency_mismatch"


def test_given_currency_must_match_accounts() -> None:
    outcome = posting(account("a"), account("b")).apply(transfer("t1", currency="EUR"))
    assert outcome.error is not None and outcome.error.code == "currency_mismatch"


def test_no_overdraft_account_cannot_go_negative() -> None:
    a = account("a", credits=10, no_overdraft=True)
    outcome = posting(a, account("b")).apply(transfer("t1", amount=11))
    assert outcome.error is not None and outcome.error.code == "insufficient_funds"
    assert a.balance == 10 and not a.new_entries


def test_no_overdraft_account_may_reach_exactly_zero() -> None:
    a = account("a", credits=10, no_overdraft=True)
    assert posting(a, account("b")).apply(transfer("t1", amount=10)).kind == "created"
    assert a.balance == 0


def test_no_overcredit_account_cannot_go_positive() -> None:
    b = account("b", debits=5, no_overcredit=True)
    outcome = posting(account("a"), b).apply(transfer("t1", amount=6))
    assert outcome.error is not None and outcome.error.code == "insufficient_funds"


def test_later_transfer_sees_balance_left_by_earlier_one() -> None:
    a = account("a", credits=15, no_overdraft=True)
    p = posting(a, account("b"))
    first, second = p.apply_all([transfer("t1", amount=10), transfer("t2", amount=10)])
    assert first.kind == "created"
    assert second.error is not None and second.error.code == "insufficient_funds"


def test_failed_transfer_changes_nothing_and_neighbours_still_apply() -> None:
    a, b = account("a"), account("b")
    p = posting(a, b)
    outcomes = p.apply_all([transfer("t1"), transfer("t2", credit="zz"), transfer("t3")])
    assert [o.kind for o in outcomes] == ["created", "failed", "created"]
    assert [e.sequence for e in b.new_entries] == [1, 2]


def test_totals_overflow_is_rejected() -> None:
    b = account("b", credits=INT64_MAX - 5)
    outcome = posting(account("a"), b).apply(transfer("t1", amount=6))
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
    book = posting(a, b, c)
    assert book.apply(transfer("t1", "a", "b", 10)).kind == "created"
    failed = book.apply(transaction("x", ("a", "c", 30), ("b", "c", 5), ("a", "b", 30)))
    assert failed.kind == "failed"
    assert isinstance(failed.error, LegFailed) and failed.error.index == 2
    assert failed.error.code == "insufficient_funds"
    assert (a.balance, b.balance, c.balance) == (40, 10, 0)
    assert [e.transfer_id for e in a.new_entries] == ["t1"] and c.new_entries == []
    assert [t.id for t in book.new_transfers] == ["t1"]
    assert book.new_transactions == []
    after = book.apply(transaction("y", ("a", "c", 40)))
    assert after.kind == "created" and a.balance == 0


def test_legs_of_one_transaction_see_each_other() -> None:
    a, b, c = (
        account("a", credits=10, no_overdraft=True),
        account("b", no_overdraft=True),
        account("c"),
    )
    book = posting(a, b, c)
    outcome = book.apply(transaction("x", ("a", "b", 10), ("b", "c", 10)))
    assert outcome.kind == "created"
    assert [leg.id for leg in outcome.legs] == ["x~0", "x~1"]
    assert {leg.transaction_id for leg in outcome.legs} == {"x"}
    assert (a.balance, b.balance, c.balance) == (0, 0, 10)


def test_a_transaction_replayed_in_the_same_posting_is_not_applied_twice() -> None:
    book = posting(account("a"), account("b"))
    order = transaction("x", ("a", "b", 10))
    assert book.apply(order).kind == "created"
    replay = book.apply(order)
    assert replay.kind == "replayed" and [leg.id for leg in replay.legs] == ["x~0"]
    assert book.changed_accounts[1].balance == 10


# --- holds near their expiry --------------------------------------------------------

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def hold_posting(*, prompt_commit_in: float) -> tuple[Posting, TransferOrder]:
    """A posting whose request budget (10 s) outlasts a 1 s hold it has just made; a
    commit cut to its shortest budget would land ``prompt_commit_in`` seconds from now."""
    clock = Clock(
        now=T0,
        latest_commit=T0 + timedelta(seconds=10),
        latest_prompt_commit=T0 + timedelta(seconds=prompt_commit_in),
    )
    p = Posting({a.id: a for a in (account("a"), account("b"))}, {}, clock=clock)
    order = transfer("h1", pending=True, timeout_seconds=1)
    assert p.apply(order).kind == "created"
    return p, order


def test_a_post_that_could_land_after_expiry_is_applied_with_its_commit_cut_before_it() -> None:
    p, _ = hold_posting(prompt_commit_in=0.6)
    outcome = p.apply(ResolveOrder("h1", "post"))
    assert outcome.transfer is not None and outcome.transfer.status == "posted"
    assert p.commit_before == T0 + timedelta(seconds=1)


def test_a_post_too_close_to_expiry_to_commit_before_it_is_refused_as_expiring() -> None:
    p, _ = hold_posting(prompt_commit_in=1.2)
    outcome = p.apply(ResolveOrder("h1", "post"))
    assert isinstance(outcome.error, TransferExpiring)
    assert outcome.error.code == "transfer_expiring" != TransferExpired.code
    assert p.commit_before is None


def test_a_hold_too_close_to_expiry_to_post_can_still_be_voided() -> None:
    p, _ = hold_posting(prompt_commit_in=1.2)
    outcome = p.apply(ResolveOrder("h1", "void"))
    assert outcome.transfer is not None and outcome.transfer.status == "voided"
