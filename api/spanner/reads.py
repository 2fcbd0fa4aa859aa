"""Reads: one single-use snapshot, or several reads from one multi-use snapshot; strong
unless the caller accepts staleness.

A stale read may be served by any replica that is current enough, without waiting on
the leader (and, configured, is directed to read-only replicas: ``SpannerConfig``). A
single-use read takes ``max_staleness``: Spanner picks the newest timestamp it can serve
within it. Several reads of one snapshot must share a timestamp chosen up front: they
read at exactly ``staleness`` ago. Either way the caller learns the timestamp read at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from api.spanner.budget import Budget
from api.spanner.deadlines import bounded_by
from api.spanner.sessions import SessionSource
from api.spanner.tx import Tx

T = TypeVar("T")


def read(
    sessions: SessionSource,
    func: Callable[[Tx], T],
    budget: Budget,
    priority: int,
    staleness: timedelta | None = None,
) -> tuple[T, datetime | None]:
    """Run ``func`` against one single-use snapshot; its value and the timestamp read at
    (None if ``func`` read nothing)."""
    return _snapshot(sessions, func, budget, priority, multi_use=False, staleness=staleness)


def read_consistent(
    sessions: SessionSource,
    func: Callable[[Tx], T],
    budget: Budget,
    priority: int,
    staleness: timedelta | None = None,
) -> tuple[T, datetime]:
    """Several reads from ONE snapshot, and that snapshot's timestamp."""
    value, read_timestamp = _snapshot(
        sessions, func, budget, priority, multi_use=True, staleness=staleness
    )
    if read_timestamp is None:
        raise RuntimeError("snapshot read timestamp missing")
    return value, read_timestamp


def _snapshot(
    sessions: SessionSource,
    func: Callable[[Tx], T],
    budget: Budget,
    priority: int,
    *,
    multi_use: bool,
    staleness: timedelta | None,
) -> tuple[T, datetime | None]:
    options: dict[str, Any] = {"multi_use": multi_use}
    directed = None
    if staleness is not None:
        options["exact_staleness" if multi_use else "max_staleness"] = staleness
        directed = sessions.config.directed_read_options
    started = time.perf_counter()
    try:
        with bounded_by(budget.deadline), sessions.session(budget.deadline) as session:
            if session is None:  # multiplexed: the database hands out the snapshot
                with sessions.database.snapshot(**options) as snapshot:
                    return _run(snapshot, func, budget, priority, directed)
            return _run(session.snapshot(**options), func, budget, priority, directed)
    finally:
        budget.record(started)


def _run(
    snapshot: object, func: Callable[[Tx], T], budget: Budget, priority: int, directed: Any
) -> tuple[T, datetime | None]:
    tx = Tx(snapshot, budget.tag, budget.deadline, priority, directed_read_options=directed)
    return func(tx), tx.read_timestamp
