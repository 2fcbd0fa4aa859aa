"""The group-commit machinery on its own: grouping, splitting, deadlines, shutdown.

``apply`` here is a recording function, not a database: these tests are about how
items are grouped and answered. The ledger on a real emulator is in
tests/transfers/test_group_commit.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

import pytest
from google.api_core import exceptions as gexc

from api.spanner.batcher import DEFAULT_SPLIT_BUDGET, BatcherClosed, SplitBudgetSpent, WriteBatcher
from api.spanner.budget import SpannerMeter
from api.spanner.errors import DeadlinePassed


class Recorder:
    def __init__(
        self,
        *,
        poison: str | set[str] | None = None,
        transient: bool = False,
        refused: bool = False,
    ) -> None:
        self.groups: list[list[str]] = []
        self.calls = 0
        self.entered = threading.Event()  # set when a group reaches apply
        self.gate = threading.Event()
        self.gate.set()
        self.poison = {poison} if isinstance(poison, str) else (poison or set())
        self.transient = transient
        self.refused = refused

    def __call__(
        self, items: Sequence[str], deadline: float, meters: tuple[SpannerMeter, ...]
    ) -> list[str]:
        self.entered.set()
        self.gate.wait(10)
        self.calls += 1
        if self.transient:
            raise gexc.ServiceUnavailable("down")
        if self.refused:
            raise gexc.PermissionDenied("no grant")
        if self.poison.intersection(items):
            raise ValueError("poisoned group")
        self.groups.append(list(items))
        return [item.upper() for item in items]


def later(seconds: float = 10.0) -> float:
    return time.monotonic() + seconds


def hold_the_writer(batcher: WriteBatcher[str, str], recorder: Recorder) -> Future[str]:
    """Put the writer inside a first group's commit, held there until ``recorder.gate``
    is set: whatever is submitted meanwhile queues up behind it."""
    recorder.gate.clear()
    blocker = batcher.submit("blocker", deadline=later())
    assert recorder.entered.wait(5)
    return blocker


def test_each_caller_gets_its_own_result() -> None:
    batcher = WriteBatcher(Recorder(), window_seconds=0.01, max_items=10)
    futures = [batcher.submit(x, deadline=later()) for x in "abc"]
    assert [f.result(5) for f in futures] == ["A", "B", "C"]
    batcher.close()


def test_items_arriving_during_a_commit_form_the_next_group() -> None:
    recorder = Recorder()
    recorder.gate.clear()  # the first group's commit is "in flight"
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=100)
    first = batcher.submit("first", deadline=later())
    assert recorder.entered.wait(5)  # the writer took "first" and is blocked in apply
    rest = [batcher.submit(f"x{i}", deadline=later()) for i in range(20)]
    recorder.gate.set()
    for future in [first, *rest]:
        future.result(5)
    assert recorder.groups == [["first"], [f"x{i}" for i in range(20)]]
    batcher.close()


def test_group_size_is_capped() -> None:
    recorder = Recorder()
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=3)
    blocker = hold_the_writer(batcher, recorder)
    futures = [blocker, *(batcher.submit(f"x{i}", deadline=later()) for i in range(7))]
    recorder.gate.set()
    for future in futures:
        future.result(5)
    assert [len(group) for group in recorder.groups] == [1, 3, 3, 1]
    assert [x for group in recorder.groups[1:] for x in group] == [f"x{i}" for i in range(7)]
    batcher.close()


def test_a_group_stays_within_its_weight() -> None:
    """An item may stand for many rows (a transaction for its legs): a group takes items
    while their weights fit, and a heavy item opens the next group."""
    recorder = Recorder()
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=100, weigh=len, max_weight=10)
    blocker = hold_the_writer(batcher, recorder)
    items = ["aaaa", "bbbb", "cccccc", "d", "eeeeeeeeeeeeeeee", "f"]
    futures = [blocker, *(batcher.submit(x, deadline=later()) for x in items)]
    recorder.gate.set()
    for future in futures:
        future.result(5)
    assert recorder.groups[1:] == [["aaaa", "bbbb"], ["cccccc", "d"], ["eeeeeeeeeeeeeeee"], ["f"]]
    batcher.close()


def test_failing_item_is_isolated_and_neighbours_commit_in_order() -> None:
    recorder = Recorder(poison="bad")
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=100)
    blocker = hold_the_writer(batcher, recorder)
    items = ["a", "b", "bad", "c", "d"]
    futures = [batcher.submit(x, deadline=later()) for x in items]
    recorder.gate.set()
    blocker.result(5)
    outcomes = {}
    for item, future in zip(items, futures, strict=True):
        error = future.exception(5)
        outcomes[item] = type(error).__name__ if error else future.result()
    assert outcomes == {"a": "A", "b": "B", "bad": "ValueError", "c": "C", "d": "D"}
    committed = [x for group in recorder.groups[1:] for x in group]
    assert committed == ["a", "b", "c", "d"]
    assert batcher.stats.splits >= 1
    batcher.close()


def poisoned_group(poison: set[str], size: int = 100) -> tuple[Recorder, list[str], list[object]]:
    """One full group of ``size`` items of which ``poison`` fail; returns each outcome."""
    recorder = Recorder(poison=poison)
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=size)
    blocker = hold_the_writer(batcher, recorder)
    items = [f"x{i:03d}" for i in range(size)]
    futures = [batcher.submit(x, deadline=later()) for x in items]
    recorder.gate.set()
    blocker.result(5)
    outcomes = [f.exception(10) or f.result() for f in futures]
    batcher.close()
    recorder.calls -= 1  # the blocker's own group
    return recorder, items, outcomes


def test_one_bad_item_in_a_full_group_costs_a_bounded_number_of_transactions() -> None:
    recorder, items, outcomes = poisoned_group({"x042"})
    assert recorder.calls <= 1 + DEFAULT_SPLIT_BUDGET
    assert isinstance(outcomes[42], ValueError)
    assert [o for i, o in enumerate(outcomes) if i != 42] == [
        x.upper() for i, x in enumerate(items) if i != 42
    ]


def test_many_bad_items_cannot_buy_more_than_the_split_budget() -> None:
    poison = {f"x{i:03d}" for i in range(0, 100, 5)}  # 20 of 100
    recorder, items, outcomes = poisoned_group(poison)
    assert recorder.calls <= 1 + DEFAULT_SPLIT_BUDGET
    for item, outcome in zip(items, outcomes, strict=True):
        if item in poison:
            assert isinstance(outcome, ValueError | SplitBudgetSpent)
        else:  # committed, or told to retry: never blamed for another's fault
            assert outcome == item.upper() or isinstance(outcome, SplitBudgetSpent)
    committed = [x for group in recorder.groups[1:] for x in group]
    assert committed == sorted(committed)  # survivors kept their order


@pytest.mark.parametrize(
    ("failure", "error"),
    [("transient", gexc.ServiceUnavailable), ("refused", gexc.PermissionDenied)],
)
def test_a_failure_that_is_no_items_fault_fails_the_whole_group_without_splitting(
    failure: str, error: type[Exception]
) -> None:
    recorder = Recorder(**{failure: True})  # type: ignore[arg-type]
    batcher = WriteBatcher(recorder, window_seconds=0.02, max_items=10)
    futures = [batcher.submit(x, deadline=later()) for x in "abc"]
    assert all(isinstance(f.exception(5), error) for f in futures)
    assert batcher.stats.splits == 0
    batcher.close()


def test_expired_items_are_not_applied() -> None:
    recorder = Recorder()
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=10)
    future = batcher.submit("late", deadline=time.monotonic() - 1)
    assert isinstance(future.exception(5), DeadlinePassed)
    assert recorder.groups == []
    batcher.close()


def test_caller_is_answered_at_its_deadline_even_if_the_writer_is_stuck() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=10)
    with pytest.raises(DeadlinePassed):
        batcher.commit("stuck", deadline=time.monotonic() + 0.1)
    recorder.gate.set()
    batcher.close()


def test_close_flushes_what_is_queued_then_refuses_new_items() -> None:
    recorder = Recorder()
    batcher = WriteBatcher(recorder, window_seconds=5, max_items=100)  # would linger
    futures = [batcher.submit(x, deadline=later()) for x in "abc"]
    assert batcher.close(timeout=5)
    assert [f.result(0) for f in futures] == ["A", "B", "C"]
    with pytest.raises(BatcherClosed):
        batcher.submit("x", deadline=later())


def test_a_lone_request_does_not_wait_for_the_window() -> None:
    batcher = WriteBatcher(Recorder(), window_seconds=5, max_items=100)
    # Answered long before the 5 s window would end: nobody else was waiting.
    assert batcher.submit("alone", deadline=later()).result(timeout=2.5) == "ALONE"
    batcher.close()


def test_async_caller_that_gives_up_withdraws_its_queued_item() -> None:
    recorder = Recorder()
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=10)
    blocker = hold_the_writer(batcher, recorder)

    async def give_up() -> None:
        with pytest.raises(DeadlinePassed):
            await batcher.commit_async("withdrawn", deadline=time.monotonic() + 0.05)

    asyncio.run(give_up())
    recorder.gate.set()
    blocker.result(5)
    batcher.close()
    assert recorder.groups == [["blocker"]]


def test_async_caller_gets_its_result() -> None:
    batcher = WriteBatcher(Recorder(), window_seconds=0, max_items=10)
    assert asyncio.run(batcher.commit_async("x", deadline=later())) == "X"
    batcher.close()


def group_of_async_callers(batcher: WriteBatcher[str, str], recorder: Recorder, names: list[str]):
    """Queue ``names`` from one event loop while the writer is held in a first group,
    then let it go: they form the next group. Returns each caller's outcome and how
    many callbacks the writer handed the loop."""
    blocker = hold_the_writer(batcher, recorder)

    async def run() -> tuple[list[object], int]:
        loop = asyncio.get_running_loop()
        handed = 0
        original = loop.call_soon_threadsafe

        def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal handed
            handed += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        calls = [asyncio.ensure_future(batcher.commit_async(n, deadline=later())) for n in names]
        await asyncio.sleep(0.05)  # all queued behind the blocker
        recorder.gate.set()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        return list(outcomes), handed

    outcomes, handed = asyncio.run(run())
    assert blocker.exception(5) is None or recorder.transient
    return outcomes, handed


def test_a_group_of_async_callers_is_answered_in_one_callback() -> None:
    recorder = Recorder()
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=100)
    names = [f"c{i}" for i in range(12)]
    outcomes, handed = group_of_async_callers(batcher, recorder, names)
    batcher.close()
    assert outcomes == [n.upper() for n in names]
    assert recorder.groups == [["blocker"], names]
    assert handed == 1


def test_a_failed_group_reaches_every_async_caller() -> None:
    recorder = Recorder(transient=True)
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=100)
    outcomes, _ = group_of_async_callers(batcher, recorder, ["a", "b", "c"])
    batcher.close()
    assert [type(o) for o in outcomes] == [gexc.ServiceUnavailable] * 3


def test_a_cancelled_async_caller_withdraws_its_queued_item() -> None:
    recorder = Recorder()
    batcher = WriteBatcher(recorder, window_seconds=0, max_items=10)
    blocker = hold_the_writer(batcher, recorder)

    async def leave() -> None:
        call = asyncio.ensure_future(batcher.commit_async("left", deadline=later()))
        await asyncio.sleep(0.05)
        call.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(leave())
    recorder.gate.set()
    blocker.result(5)
    batcher.close()
    assert recorder.groups == [["blocker"]]
