"""Group commit: coalesce concurrent writes of one worker into few transactions.

Request threads ``submit`` items and wait; one writer thread takes what has queued up
(waiting up to ``window`` for more, at most ``max_items``, and items whose ``weigh``
adds up to at most ``max_weight``: an item may stand for many rows), hands the whole group to
``apply`` — which runs ONE read-write transaction and returns one result per item, in
order — and answers every caller with its own result. So the worker holds at most one
read-write transaction in flight, and the emulator (one transaction at a time) or a hot
row on Spanner sees one commit per group instead of one per request.

Failures of the group as a whole:
- ``Aborted`` is retried inside ``apply`` (api.spanner.transactions) for the whole group.
- A transient failure (unavailable, deadline, no session) fails every item in the
  group: its outcome is unknown to the callers, who may retry with the same id.
- Any other failure is blamed on no one yet. It should not happen (``apply`` returns
  rule violations as per-item results, and requests are validated before they are
  queued), so it is a bug or a value storage refuses: the group is split in halves,
  applied one after the other, down to the item that fails, so innocent neighbours
  still commit and keep their order. The split may cost at most ``split_budget`` more
  transactions: one bad item in a full group needs about 2·log2(size), and a caller
  sending many cannot buy more of the writer's time than that. Items still unresolved
  when the budget is spent fail transiently (their callers retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from api.spanner.budget import SpannerMeter
from api.spanner.errors import DeadlinePassed, is_refused, is_transient

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_SPLIT_BUDGET = 16  # transactions; 2·log2(100) ≈ 13 isolates one bad item of 100


class SplitBudgetSpent(DeadlinePassed):
    """The group failed and could not be narrowed down within the split budget."""


class BatcherClosed(Exception):
    """The worker is shutting down and takes no new writes."""


@dataclass
class _Pending(Generic[Item, Result]):
    item: Item
    deadline: float  # time.monotonic()
    meter: SpannerMeter | None
    future: Future[Result] = field(default_factory=Future)
    # An event-loop caller waits on this instead; the writer settles a group's waiters
    # in one callback per loop (``_wake``), not one cross-thread wake-up per caller.
    waiter: asyncio.Future[Result] | None = None


@dataclass(frozen=True)
class GroupStats:
    groups: int
    items: int
    splits: int


class WriteBatcher(Generic[Item, Result]):
    def __init__(
        self,
        apply: Callable[[Sequence[Item], float, tuple[SpannerMeter, ...]], list[Result]],
        *,
        window_seconds: float,
        max_items: int,
        weigh: Callable[[Item], int] | None = None,
        max_weight: int | None = None,
        split_budget: int = DEFAULT_SPLIT_BUDGET,
        name: str = "write-batcher",
    ) -> None:
        """``apply(items, deadline, meters)`` commits items in one transaction, in order,
        and charges its Spanner time to ``meters`` (those of the callers riding in it)."""
        self._apply = apply
        self._window = window_seconds
        self._max_items = max_items
        self._weigh = weigh or (lambda _: 1)
        self._max_weight = max_weight if max_weight is not None else max_items
        self._split_budget = split_budget
        self._queue: deque[_Pending[Item, Result]] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._groups = self._items = self._splits = 0
        self._last_group_size = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- callers ----------------------------------------------------------------

    def submit(
        self, item: Item, *, deadline: float, meter: SpannerMeter | None = None
    ) -> Future[Result]:
        return self._enqueue(_Pending(item, deadline, meter)).future

    def _enqueue(self, pending: _Pending[Item, Result]) -> _Pending[Item, Result]:
        with self._cond:
            if self._closing:
                raise BatcherClosed("the worker is shutting down")
            self._queue.append(pending)
            self._cond.notify()
        return pending

    def commit(self, item: Item, *, deadline: float, meter: SpannerMeter | None = None) -> Result:
        """Submit and wait for this item's result, at most until ``deadline``."""
        future = self.submit(item, deadline=deadline, meter=meter)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            # Still queued: withdrawn. Already in a transaction: it may commit, and the
            # caller's retry with the same id gets the stored result (idempotency).
            future.cancel()
            raise DeadlinePassed("waiting for group commit") from None

    async def commit_async(
        self, item: Item, *, deadline: float, meter: SpannerMeter | None = None
    ) -> Result:
        """``commit`` for the event loop: waits without holding a thread."""
        loop = asyncio.get_running_loop()
        pending = self._enqueue(_Pending(item, deadline, meter, waiter=loop.create_future()))
        waiter = pending.waiter
        assert waiter is not None  # noqa: S101 - set just above
        timer = loop.call_later(max(0.0, deadline - time.monotonic()), _give_up, pending)
        try:
            return await waiter
        finally:
            timer.cancel()
            # Given up or cancelled (the client left): withdrawn if it is still queued.
            pending.future.cancel()

    @property
    def stats(self) -> GroupStats:
        return GroupStats(self._groups, self._items, self._splits)

    def close(self, timeout: float = 8.0) -> bool:
        """Stop taking writes, commit what is queued, and stop. True if drained."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- the writer thread --------------------------------------------------------

    def _run(self) -> None:
        while True:
            group = self._next_group()
            if group is None:
                return
            try:
                self._commit(group)
            except BaseException as exc:  # the writer must outlive any one group
                log.exception("group commit failed unexpectedly")
                for pending in group:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                _wake(group)

    def _next_group(self) -> list[_Pending[Item, Result]] | None:
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            # Linger briefly for company, but only once concurrency has shown itself
            # (the last group had company, or more than one item is waiting): a lone
            # client must not pay the window on every request.
            company = self._last_group_size > 1 or len(self._queue) > 1
            window_ends = time.monotonic() + (self._window if company else 0.0)
            while len(self._queue) < self._max_items and not self._closing:
                remaining = window_ends - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            group: list[_Pending[Item, Result]] = []
            weight = 0
            while self._queue and len(group) < self._max_items:
                next_weight = self._weigh(self._queue[0].item)
                if group and weight + next_weight > self._max_weight:
                    break  # the next group starts with it
                group.append(self._queue.popleft())
                weight += next_weight
            self._last_group_size = len(group)
        return group

    def _commit(self, group: list[_Pending[Item, Result]]) -> None:
        now = time.monotonic()
        live, expired = [], []
        for pending in group:
            if not pending.future.set_running_or_notify_cancel():
                continue  # withdrawn by a caller who stopped waiting
            if pending.deadline <= now:
                # Its caller has given up: don't write what nobody will be told of.
                pending.future.set_exception(DeadlinePassed("expired in the queue"))
                expired.append(pending)
            else:
                live.append(pending)
        _wake(expired)
        if live:
            self._apply_or_split(live)

    def _apply_or_split(self, group: list[_Pending[Item, Result]]) -> None:
        failure = self._try(group)
        if failure is None:
            return
        # Splitting isolates a bad item; these fail every part alike.
        if len(group) == 1 or is_transient(failure) or is_refused(failure):
            self._fail(group, failure)
            return
        self._splits += 1
        log.warning("group of %d failed (%s); splitting", len(group), type(failure).__name__)
        budget = self._split_budget
        # Depth first, left half first: the survivors commit in arrival order.
        todo = [group[len(group) // 2 :], group[: len(group) // 2]]
        while todo:
            part = todo.pop()
            if budget <= 0:
                self._fail(part, SplitBudgetSpent("group failed; split budget spent"))
                continue
            budget -= 1
            failure = self._try(part)
            if failure is None:
                continue
            if len(part) == 1 or is_transient(failure) or is_refused(failure):
                self._fail(part, failure)
                continue
            todo += [part[len(part) // 2 :], part[: len(part) // 2]]

    def _try(self, group: list[_Pending[Item, Result]]) -> Exception | None:
        """Commit ``group`` and answer its callers; or return why it failed."""
        meters = tuple(p.meter for p in group if p.meter is not None)
        for meter in meters:
            meter.extra["group_size"] = len(group)
        try:
            results = self._apply([p.item for p in group], max(p.deadline for p in group), meters)
        except Exception as exc:
            return exc
        self._groups += 1
        self._items += len(group)
        for pending, result in zip(group, results, strict=True):
            pending.future.set_result(result)
        _wake(group)
        return None

    @staticmethod
    def _fail(group: list[_Pending[Item, Result]], exc: BaseException) -> None:
        for pending in group:
            pending.future.set_exception(exc)
        _wake(group)


def _wake(group: list[_Pending[Item, Result]]) -> None:
    """Hand the settled outcomes of ``group`` to its event-loop callers: one callback
    per loop, run there (asyncio futures are not thread-safe)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending[Item, Result]]] = {}
    for pending in group:
        if pending.waiter is not None and pending.future.done():
            by_loop.setdefault(pending.waiter.get_loop(), []).append(pending)
    for loop, pendings in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle, pendings)


def _settle(pendings: list[_Pending[Item, Result]]) -> None:
    for pending in pendings:
        waiter = pending.waiter
        if waiter is None or waiter.done() or pending.future.cancelled():
            continue  # its caller gave up already
        error = pending.future.exception()
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(pending.future.result())


def _give_up(pending: _Pending[Item, Result]) -> None:
    """The caller's deadline passed before its group was answered."""
    if pending.waiter is not None and not pending.waiter.done():
        pending.waiter.set_exception(DeadlinePassed("waiting for group commit"))
