"""One weight for what a commit holds (``order_weight``), checked against the mutations
a commit of each kind of order actually buffers. The emulator does not enforce Cloud
Spanner's 80,000 mutations per commit, so no test against it would notice a weight that
is too light: the weighing itself is tested here, on the rows the real code buffers."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud.spanner_v1 import Mutation
from google.cloud.spanner_v1.batch import _BatchBase

from api.config import Settings
from api.ids import MAX_LABELS, MAX_LEGS
from api.ledger.apply import apply
from api.ledger.commit import buffer_writes
from api.ledger.orders import (
    MUTATIONS_PER_TRANSFER,
    SPANNER_MUTATIONS_PER_COMMIT,
    Order,
    ResolveOrder,
    order_weight,
)
from api.spanner.tx import Tx
from api.transactions.convert import prepare_transaction
from api.transactions.schemas import LegCreate, TransactionCreate
from api.transfers.convert import prepare, prepare_reverse
from api.transfers.schemas import TransferCreate, TransferReverse
from tests.ledger.memory import MemoryLedger, account

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
LABELS = {f"key{n}": f"value-{n}" for n in range(MAX_LABELS)}


def labelled(tid: str, **extra: Any) -> TransferCreate:
    return TransferCreate(id=tid, debit_account_id="a", credit_account_id="b", amount=10,
                          labels=LABELS, **extra)  # fmt: skip


def transaction() -> TransactionCreate:
    leg = LegCreate(debit_account_id="a", credit_account_id="b", amount=1, labels=LABELS)
    return TransactionCreate(id="x", legs=[leg] * MAX_LEGS)


def mutations_buffered(earlier: list[Order], order: Order) -> int:
    """Cells ``order``'s commit buffers (Spanner counts an insert or update by the
    columns it writes), after ``earlier`` orders were committed."""
    ledger = MemoryLedger([account("a"), account("b")])
    ledger.commit(earlier)
    state = ledger.read_state([order])
    outcome = apply(state, order)
    assert outcome.error is None, outcome.error
    batch = _BatchBase(session=None)
    buffer_writes(Tx(batch, "test", deadline=0.0), state)
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
    earlier: list[Order], order: Order
) -> None:
    assert mutations_buffered(earlier, order) <= order_weight(order) * MUTATIONS_PER_TRANSFER


def test_the_most_one_commit_may_weigh_fits_cloud_spanners_mutation_limit() -> None:
    most = Settings.model_fields["max_transfers_per_commit"].metadata
    ceiling = max(getattr(rule, "le", 0) for rule in most)
    assert ceiling * MUTATIONS_PER_TRANSFER <= SPANNER_MUTATIONS_PER_COMMIT
