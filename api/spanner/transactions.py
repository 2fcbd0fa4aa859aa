"""Read-write transactions: the write gate and our own abort-retry loop.

``run_in_transaction`` of the client is driven with ``timeout_secs=0`` so that its
own back-off (2**n seconds) never runs; ours retries aborts with full jitter while the
deadline allows. Every RPC inside is bounded by the same deadline (api.spanner.deadlines).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from google.api_core import exceptions as gexc

from api.spanner.budget import Budget
from api.spanner.clock import SpannerClock
from api.spanner.config import SpannerConfig
from api.spanner.deadlines import bounded_by
from api.spanner.errors import DeadlinePassed
from api.spanner.sessions import SessionSource
from api.spanner.tx import Tx

T = TypeVar("T")


@dataclass(frozen=True)
class Committed(Generic[T]):
    """What a read-write transaction returned, and when it committed."""

    value: T
    commit_timestamp: datetime


def abort_backoff(attempt: int, *, base_ms: float, cap_ms: float) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): full jitter, capped."""
    ceiling = min(cap_ms, base_ms * 2 ** (attempt - 1))
    return random.uniform(0, ceiling) / 1000.0  # noqa: S311 - jitter, not security


class TransactionRunner:
    def __init__(self, config: SpannerConfig, sessions: SessionSource, clock: SpannerClock) -> None:
        self._config = config
        self._sessions = sessions
        self._clock = clock
        limit = config.max_inflight_writes
        self.write_gate = threading.BoundedSemaphore(limit) if limit else None

    def run(self, func: Callable[[Tx], T], budget: Budget) -> Committed[T]:
        """Run ``func`` in a read-write transaction, retrying aborts until the deadline.

        ``func`` may run several times: it must only read, check and buffer.
        """
        attempts: list[Any] = []  # each run's transaction; the last one committed

        def body(raw: Any) -> T:
            attempts.append(raw)
            return func(Tx(raw, budget.tag, budget.deadline))

        with self._gate(budget.deadline):
            attempt = 0
            while True:
                attempt += 1
                started = time.perf_counter()
                try:
                    # Bounded per attempt: a deadline ``func`` cut (Tx.cut_deadline) is
                    # its attempt's, and the next run of ``func`` decides again.
                    with (
                        bounded_by(budget.deadline),
                        self._sessions.session(budget.deadline) as session,
                    ):
                        runner = session if session is not None else self._sessions.database
                        began = time.monotonic()
                        value = runner.run_in_transaction(
                            body, transaction_tag=budget.tag, timeout_secs=0
                        )
                    committed_at: datetime = attempts[-1].committed
                    self._clock.observe(committed_at, began=began, returned=time.monotonic())
                    return Committed(value, committed_at)
                except gexc.Aborted:
                    delay = abort_backoff(
                        attempt,
                        base_ms=self._config.abort_retry_base_ms,
                        cap_ms=self._config.abort_retry_cap_ms,
                    )
                    budget.count_abort()
                    if time.monotonic() + delay >= budget.deadline:
                        raise
                    time.sleep(delay)
                finally:
                    budget.record(started)

    @contextmanager
    def _gate(self, deadline: float) -> Iterator[None]:
        gate = self.write_gate
        if gate is None:
            yield
            return
        if not gate.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise DeadlinePassed("waiting for a write slot")
        try:
            yield
        finally:
            gate.release()
