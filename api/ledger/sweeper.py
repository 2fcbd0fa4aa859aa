"""Releasing holds whose time is up.

Every worker runs a ``HoldSweeper`` thread (``LEDGER_HOLD_SWEEP_INTERVAL_SECONDS``):
it looks up expired holds in the sharded time index (a low-priority query per shard)
and releases them in small commits through the same ``commit_orders`` as every other
write. Running in every worker at once is safe: each release re-reads the hold
inside its transaction and releases it only if it is still pending and past
``expires_at`` by Spanner's clock, so two sweepers racing for one hold end with one
release (the other transaction aborts and then finds it resolved). Where workers get
no CPU between requests (Cloud Run with request-based billing), a Cloud Scheduler job
calls ``POST /v1/transfers:expire`` instead; see docs/DEPLOY.md.

A hold past ``expires_at`` can never be posted whether or not it has been swept
(api.ledger.transfer_rules), so the sweeper only decides how soon the reserved amount
becomes available again: within about one interval.
"""

from __future__ import annotations

import functools
import logging
import random
import threading

from api.context import RequestContext
from api.ledger.commit import commit_orders
from api.ledger.orders import (
    ExpireOrder,
    ExpireTransactionOrder,
    Order,
    chunked_by_weight,
    order_weight,
)
from api.ledger.records import transaction_of
from api.ledger.repository import transfers as transfer_rows
from api.spanner.database import SpannerDatabase
from api.spanner.tx import PRIORITY_LOW

log = logging.getLogger(__name__)

SWEEP_BUDGET_SECONDS = 10.0  # each query and each release transaction
RELEASES_PER_COMMIT = 20  # small transactions: the hot path waits behind them, not long
FOUND_PER_SHARD = 100


def sweep_expired_holds(database: SpannerDatabase, ctx: RequestContext | None = None) -> int:
    """One pass over every shard; returns how many holds this pass released."""
    released = 0
    shards = list(range(transfer_rows.EXPIRY_SHARDS))
    random.shuffle(shards)  # workers sweeping at once start in different places
    for shard in shards:
        context = ctx or RequestContext.starting_now(SWEEP_BUDGET_SECONDS)
        ids = database.read(
            functools.partial(transfer_rows.expired_holds, shard=shard, limit=FOUND_PER_SHARD),
            budget=context.budget("holds.find_expired"),
            priority=PRIORITY_LOW,
        )
        orders = expiry_orders(ids)
        weights = [order_weight(order) for order in orders]
        for chunk in chunked_by_weight(orders, weights, RELEASES_PER_COMMIT):
            context = ctx or RequestContext.starting_now(SWEEP_BUDGET_SECONDS)
            outcomes = commit_orders(database, chunk, context.budget("holds.expire"))
            released += sum(len(o.legs) or 1 for o in outcomes if o.created)
    return released


def expiry_orders(transfer_ids: list[str]) -> list[Order]:
    """The release of each hold found; a transaction's first leg stands for all of its
    legs, released together (a transaction weighs its legs: alone in its commit)."""
    return [
        ExpireTransactionOrder(transaction_id)
        if (transaction_id := transaction_of(transfer_id)) is not None
        else ExpireOrder(transfer_id)
        for transfer_id in transfer_ids
    ]


class HoldSweeper:
    def __init__(self, database: SpannerDatabase, *, interval_seconds: float) -> None:
        self._database = database
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hold-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while True:
            # Jittered, so that the workers of a fleet do not sweep in step.
            if self._stop.wait(self._interval * random.uniform(0.5, 1.0)):  # noqa: S311
                return
            try:
                released = sweep_expired_holds(self._database)
            except Exception:  # the sweeper must outlive any one failure
                log.warning("expired-hold sweep failed; retrying next interval", exc_info=True)
                continue
            if released:
                log.info("released %d expired holds", released)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
