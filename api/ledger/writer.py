"""The worker's single path for single writes: group commit, or not.

With group commit on, concurrent requests of this worker - transfers, holds, their
:post and :void, reversals, transactions and the actions on them - are coalesced by a
``WriteBatcher`` into one commit per group; each caller still gets its own outcome,
identical to applying the requests one at a time in arrival order.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from api.config import Settings
from api.context import RequestContext
from api.errors import BackendUnavailable
from api.ledger.commit import commit_orders
from api.ledger.orders import Order, order_weight
from api.ledger.outcome import Outcome
from api.spanner.batcher import BatcherClosed, WriteBatcher
from api.spanner.budget import Budget, SpannerMeter, compose_tag
from api.spanner.database import SpannerDatabase

# One group carries several callers' orders: no single principal to name.
GROUP_TAG = compose_tag("transfers.group", None)


class LedgerWriter:
    def __init__(self, database: SpannerDatabase, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._batcher: WriteBatcher[Order, Outcome] | None = None
        if settings.group_commit_enabled:
            self._batcher = WriteBatcher(
                self._commit_group,
                window_seconds=settings.group_commit_window_ms / 1000,
                max_items=settings.group_commit_max_items,
                # A transaction weighs its legs: a group must stay one commit.
                weigh=order_weight,
                max_weight=settings.max_transfers_per_commit,
                name="ledger-group-commit",
            )

    @property
    def batcher(self) -> WriteBatcher[Order, Outcome] | None:
        return self._batcher

    def _commit_group(
        self, orders: Sequence[Order], deadline: float, meters: tuple[SpannerMeter, ...]
    ) -> list[Outcome]:
        return commit_orders(self._database, orders, Budget(deadline, GROUP_TAG, meters))

    def _write_blocking(self, order: Order, ctx: RequestContext, action: str) -> Outcome:
        """Apply one order, blocking this thread until it is committed."""
        if self._batcher is None:
            (outcome,) = commit_orders(self._database, [order], ctx.budget(action))
            return outcome
        try:
            return self._batcher.commit(order, deadline=ctx.deadline, meter=ctx.meter)
        except BatcherClosed:
            raise self._shutting_down() from None

    async def write(self, order: Order, ctx: RequestContext, *, action: str) -> Outcome:
        """Apply one order from the event loop.

        With group commit the request waits on the writer without holding a worker
        thread, so concurrency is not capped by the threadpool's size.
        """
        if self._batcher is None:
            return await run_in_threadpool(self._write_blocking, order, ctx, action)
        try:
            return await self._batcher.commit_async(order, deadline=ctx.deadline, meter=ctx.meter)
        except BatcherClosed:
            raise self._shutting_down() from None

    def _shutting_down(self) -> BackendUnavailable:
        return BackendUnavailable(
            "This instance is shutting down; retry the request with the same id.",
            retry_after_seconds=self._settings.retry_after_seconds,
        )

    def close(self, timeout: float = 8.0) -> bool:
        """Commit what is queued, then stop. True if everything was flushed in time."""
        return self._batcher.close(timeout) if self._batcher is not None else True
