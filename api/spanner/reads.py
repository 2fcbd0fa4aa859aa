"""Strong reads: one single-use snapshot, or several reads from one multi-use snapshot."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from api.spanner.call import Call
from api.spanner.deadlines import bounded_by
from api.spanner.sessions import SessionSource
from api.spanner.tx import Tx

T = TypeVar("T")


def read(sessions: SessionSource, func: Callable[[Tx], T], call: Call, priority: int) -> T:
    """Run ``func`` against one strong, single-use snapshot."""
    value, _ = _snapshot(sessions, func, call, priority, multi_use=False)
    return value


def read_consistent(
    sessions: SessionSource, func: Callable[[Tx], T], call: Call, priority: int
) -> tuple[T, datetime]:
    """Several reads from ONE strong snapshot, and that snapshot's timestamp."""
    value, read_timestamp = _snapshot(sessions, func, call, priority, multi_use=True)
    if read_timestamp is None:
        raise RuntimeError("snapshot read timestamp missing")
    return value, read_timestamp


def _snapshot(
    sessions: SessionSource, func: Callable[[Tx], T], call: Call, priority: int, *, multi_use: bool
) -> tuple[T, datetime | None]:
    started = time.perf_counter()
    try:
        with bounded_by(call.deadline), sessions.session(call.deadline) as session:
            if session is None:  # multiplexed: the database hands out the snapshot
                with sessions.database.snapshot(multi_use=multi_use) as snapshot:
                    return _run(snapshot, func, call, priority)
            return _run(session.snapshot(multi_use=multi_use), func, call, priority)
    finally:
        call.record(started)


def _run(
    snapshot: object, func: Callable[[Tx], T], call: Call, priority: int
) -> tuple[T, datetime | None]:
    tx = Tx(snapshot, call.tag, call.deadline, priority)
    return func(tx), tx.read_timestamp
