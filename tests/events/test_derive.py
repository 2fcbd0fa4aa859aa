"""Change records -> events: every state a resource went through in one commit gets its
event, and one resource's events sort in the order of its life within the commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.events.derive import events_of
from api.events.model import Event
from api.events.records import DataChange, Mod

COMMITTED = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def _transfer_row(transfer_id: str, **changes: Any) -> dict[str, Any]:
    row = {
        "KeyHash": 1, "TransferId": transfer_id, "DebitAccountId": "a", "CreditAccountId": "b",
        "Amount": 500, "Currency": "USD", "Status": "posted", "Metadata": None,
        "CreatedAt": COMMITTED, "Pending": False, "ExpiresAt": None, "PostedAmount": None,
        "ResolvedAt": None, "ReversesTransferId": None, "ReversedAmount": 0,
        "TransactionId": None, "Labels": None,
    }  # fmt: skip
    return {**row, **changes}


def _transaction_row(transaction_id: str, **changes: Any) -> dict[str, Any]:
    row = {
        "KeyHash": 2, "TransactionId": transaction_id, "LegCount": 2, "Pending": True,
        "ExpiresAt": None, "Metadata": None, "RequestHash": "", "CreatedAt": COMMITTED,
        "ReversesTransactionId": None, "ReversedByTransactionId": None, "Labels": None,
    }  # fmt: skip
    return {**row, **changes}


def _change(
    table: str, mod_type: str, row: dict[str, Any], *, sequence: str = "00000001",
    old: dict[str, Any] | None = None,
) -> DataChange:  # fmt: skip
    keys = {k: v for k, v in row.items() if k in ("KeyHash", "TransferId", "TransactionId")}
    if table == "Transfers":
        keys.pop("TransactionId", None)
    values = {k: v for k, v in row.items() if k not in keys}
    return DataChange(
        commit_timestamp=COMMITTED, record_sequence=sequence, server_transaction_id="tx1",
        table=table, mod_type=mod_type, mods=(Mod(keys, values, old or {}),),
    )  # fmt: skip


def _in_commit_order(*changes: DataChange) -> list[Event]:
    return sorted((e for c in changes for e in events_of(c)), key=lambda e: e.place.key())


def _types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def test_a_hold_made_and_posted_in_one_commit_is_created_pending_then_posted() -> None:
    row = _transfer_row("h1", Pending=True, PostedAmount=300, ResolvedAt=COMMITTED)

    created, posted = events_of(_change("Transfers", "INSERT", row))

    assert (created.type, posted.type) == ("transfer.created", "transfer.posted")
    assert created.data["status"] == "pending"
    assert created.data["posted_amount"] is None
    assert created.data["resolved_at"] is None
    assert posted.data["status"] == "posted"
    assert posted.data["posted_amount"] == 300
    assert created.place.key() < posted.place.key()
    assert created.id != posted.id


def test_a_hold_made_and_voided_in_one_commit_is_created_then_voided() -> None:
    row = _transfer_row("h1", Pending=True, Status="voided", ResolvedAt=COMMITTED)

    assert _types(events_of(_change("Transfers", "INSERT", row))) == [
        "transfer.created",
        "transfer.voided",
    ]


def test_a_transfer_made_and_reversed_in_one_commit_is_created_whole_then_reversed() -> None:
    row = _transfer_row("t1", ReversedAmount=200)

    created, reversed_ = events_of(_change("Transfers", "INSERT", row))

    assert (created.type, reversed_.type) == ("transfer.created", "transfer.reversed")
    assert created.data["reversed_amount"] == 0
    assert reversed_.data["reversed_amount"] == 200


def test_a_hold_made_posted_and_reversed_in_one_commit_has_three_events() -> None:
    row = _transfer_row("h1", Pending=True, PostedAmount=500, ReversedAmount=100)

    events = events_of(_change("Transfers", "INSERT", row))

    assert _types(events) == ["transfer.created", "transfer.posted", "transfer.reversed"]
    assert [e.data["reversed_amount"] for e in events] == [0, 0, 100]


def test_a_hold_posted_and_reversed_in_a_later_commit_keeps_the_old_reversed_amount() -> None:
    row = _transfer_row("h1", Pending=True, PostedAmount=500, ReversedAmount=100)
    old = {"Status": "pending", "PostedAmount": None, "ReversedAmount": 0}

    posted, reversed_ = events_of(_change("Transfers", "UPDATE", row, old=old))

    assert (posted.type, reversed_.type) == ("transfer.posted", "transfer.reversed")
    assert posted.data["reversed_amount"] == 0
    assert reversed_.data["reversed_amount"] == 100


def test_a_posted_transfer_inserted_is_created_only() -> None:
    assert _types(events_of(_change("Transfers", "INSERT", _transfer_row("t1")))) == [
        "transfer.created"
    ]


def test_a_pending_transaction_made_and_posted_in_one_commit_gives_every_event_in_order() -> None:
    leg0 = _transfer_row("x~0", Pending=True, PostedAmount=500, TransactionId="x")
    leg1 = _transfer_row("x~1", Pending=True, PostedAmount=500, TransactionId="x")
    # The transaction's row is reported after its legs: its creation still comes first.
    events = _in_commit_order(
        _change("Transfers", "INSERT", leg0, sequence="00000001"),
        _change("Transfers", "INSERT", leg1, sequence="00000002"),
        _change("Transactions", "INSERT", _transaction_row("x"), sequence="00000003"),
    )

    of_transaction = [e.type for e in events if e.transaction_id == "x"]
    assert of_transaction.index("transaction.created") < of_transaction.index("transaction.posted")
    assert of_transaction.count("transaction.posted") == 1
    for leg in ("x~0", "x~1"):
        leg_types = [e.type for e in events if e.data.get("id") == leg]
        assert leg_types == ["transfer.created", "transfer.posted"]
    assert max(i for i, e in enumerate(events) if e.type.endswith("created")) < min(
        i for i, e in enumerate(events) if e.type.endswith("posted")
    )


def test_a_transaction_made_and_reversed_in_one_commit_is_created_then_reversed() -> None:
    row = _transaction_row("x", Pending=False, ReversedByTransactionId="x-back")

    created, reversed_ = events_of(_change("Transactions", "INSERT", row))

    assert (created.type, reversed_.type) == ("transaction.created", "transaction.reversed")
    assert created.data["reversed_by_transaction_id"] is None
    assert reversed_.data["reversed_by_transaction_id"] == "x-back"


def test_transaction_events_and_their_legs_share_an_ordering_key() -> None:
    leg = _transfer_row("x~0", TransactionId="x")
    (leg_created,) = events_of(_change("Transfers", "INSERT", leg))
    (created,) = events_of(_change("Transactions", "INSERT", _transaction_row("x")))

    assert created.ordering_keys == ("transaction:x",)
    assert leg_created.ordering_keys == ("a", "b", "transaction:x")


def test_the_same_record_read_twice_gives_the_same_events() -> None:
    row = _transfer_row("h1", Pending=True, PostedAmount=300)
    change = _change("Transfers", "INSERT", row)

    assert events_of(change) == events_of(change)
