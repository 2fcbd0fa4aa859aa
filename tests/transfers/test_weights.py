"""One weight for what a commit holds (``order_weight``), checked against the mutations
a commit of each kind of order actually buffers. The emulator does not enforce Cloud
Spanner's 80,000 mutations per commit, so no test against it would notice a weight that
is too light: the weighing itself is tested here, on the rows the real code buffers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.cloud.spanner_v1 import Mutation
from google.cloud.spanner_v1.batch import _BatchBase

from api.accounts.model import AccountRecord
from api.config import Settings
from api.ids import MAX_LABELS, MAX_LEGS
from api.spanner.tx import Tx
from api.transactions.convert import prepare_transaction
from api.transactions.model import AnyOrder, order_weight
from api.transactions.schemas import LegCreate, TransactionCreate
from api.transfers.convert import prepare, prepare_reverse
from api.transfers.model import (
    MUTATIONS_PER_TRANSFER,
    SPANNER_MUTATIONS_PER_COMMIT,
    ResolveOrder,
)
from api.transfers.posting import Posting
from api.transfers.schemas import TransferCreate, TransferReverse
from api.transfers.service import buffer_writes

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
LABELS = {f"key{n}": f"value-{n}" for n in range(MAX_LABELS)}


def account(account_id: str) -> AccountRecord:
    return AccountRecord(
        id=account_id, currency="USD", debits_must_not_exceed_credits=False,
        credits_must_not_exceed_debits=False, metadata=None, debits_posted=0,
        credits_posted=0, debits_pending=0, credits_pending=0, version=0,
        request_hash="x", created_at=None, updated_at=None,
    )  # fmt: skip


def labelled(tid: str, **extra: Any) -> TransferCreate:
    return TransferCreate(id=tid, debit_account_id="a", credit_account_id="b", amount=10,
                          labels=LABELS, **extra)  # fmt: skip


def transaction() -> TransactionCreate:
    leg = LegCreate(debit_account_id="a", credit_account_id="b", amount=1, labels=LABELS)
    return TransactionCreate(id="x", legs=[leg] * MAX_LEGS)


def mutations_buffered(earlier: list[AnyOrder], order: AnyOrder) -> int:
    """Cells ``order``'s commit buffers (Spanner counts an insert or update by the
    columns it writes), after ``earlier`` orders were committed."""
    accounts = {a.id: account(a.id) for a in (account("a"), account("b"))}
    stored = Posting(accounts, {})
    stored.apply_all(earlier)
    transfers = {t.id: t for t in stored.new_transfers}
    for state in accounts.values():
        state.new_entries.clear()
    posting = Posting(accounts, transfers)
    outcome = posting.apply(order)
    assert outcome.error is None, outcome.error
    batch = _BatchBase(session=None)
    buffer_writes(Tx(batch, "test", deadline=0.0), posting)
    cells = 0
    for mutation in batch._mutations:
        write = Mutation.pb(mutation)
        kind = write.WhichOneof("operation")
        cells += sum(len(getattr(write, kind).columns) for _ in getattr(write, kind).values)
    return cells


CASES = {
    "a transfer with the most labels": ([], prepare(labelled("t"), settings=SETTINGS)),
    "a reversal of one (its labels too)": (
        [prepare(labelled("t"), settings=SETTINGS)],
        prepare_reverse("t", TransferReverse(id="r"), settings=SETTINGS),
    ),
    "a post of a labelled hold": (
        [prepare(labelled("h", pending=True), settings=SETTINGS)],
        ResolveOrder("h", "post"),
    ),
    "a transaction of the most legs, each with the most labels": (
        [],
        prepare_transaction(transaction(), settings=SETTINGS),
    ),
}


@pytest.mark.parametrize(("earlier", "order"), CASES.values(), ids=CASES.keys())
def test_an_orders_weight_covers_the_mutations_its_commit_buffers(
    earlier: list[AnyOrder], order: AnyOrder
) -> None:
    assert mutations_buffered(earlier, order) <= order_weight(order) * MUTATIONS_PER_TRANSFER


def test_the_most_one_commit_may_weigh_fits_cloud_spanners_mutation_limit() -> None:
    most = Settings.model_fields["max_transfers_per_commit"].metadata
    ceiling = max(getattr(rule, "le", 0) for rule in most)
    assert ceiling * MUTATIONS_PER_TRANSFER <= SPANNER_MUTATIONS_PER_COMMIT


def test_an_atomic_batch_heavier_than_one_commit_is_refused_up_front_naming_the_limit(
    client: TestClient, pair: tuple[str, str], unique: Any
) -> None:
    """1,000 transfers with 16 labels each: ~158,000 mutations by the estimates above."""
    a, b = pair
    items = [
        {"id": unique("t"), "debit_account_id": a, "credit_account_id": b, "amount": 1,
         "labels": LABELS}
        for _ in range(1000)
    ]  # fmt: skip
    response = client.post("/v1/transfers:batch", json={"transfers": items, "atomic": True})
    assert response.status_code == 422, response.status_code
    assert "80,000 mutations" in response.json()["detail"]
    assert client.get(f"/v1/accounts/{a}").json()["version"] == 0
