"""One worker's access to one Spanner database (optionally as one database role).

Everything a request does in Spanner goes through ``write`` or ``read``; each takes the
``Budget`` of the work it serves, which bounds every RPC and names it with a tag.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from google.api_core import exceptions as gexc
from google.cloud import spanner
from google.cloud.spanner_v1.database import Database

from api.spanner import reads
from api.spanner.budget import Budget
from api.spanner.clock import SpannerClock, TimeBounds
from api.spanner.config import SpannerConfig
from api.spanner.sessions import SessionSource
from api.spanner.transactions import Committed, TransactionRunner
from api.spanner.tx import PRIORITY_DEFAULT, Tx

log = logging.getLogger(__name__)

T = TypeVar("T")


class SpannerDatabase:
    def __init__(
        self, config: SpannerConfig, client: spanner.Client, *, role: str | None = None
    ) -> None:
        self.config = config
        self.role = role
        self._sessions = SessionSource(config, client, role)
        self.clock = SpannerClock()
        self._transactions = TransactionRunner(config, self._sessions, self.clock)

    def open(self) -> None:
        """Warm the session pool; tolerate a database that isn't there yet.

        A failure here is logged and retried on first use so the worker still starts
        and ``/readyz`` can say what is wrong.
        """
        try:
            self._sessions.warm()
        except gexc.GoogleAPICallError as exc:
            log.warning("Spanner database not ready at start-up: %s", exc.message)

    def close(self) -> None:
        self._sessions.close()

    @property
    def database(self) -> Database:
        return self._sessions.database

    @property
    def write_gate(self) -> object | None:
        return self._transactions.write_gate

    def write(self, func: Callable[[Tx], T], *, budget: Budget) -> Committed[T]:
        return self._transactions.run(func, budget)

    def read(
        self, func: Callable[[Tx], T], *, budget: Budget, priority: int = PRIORITY_DEFAULT
    ) -> T:
        """One strong single-use read."""
        value, _ = reads.read(self._sessions, func, budget, priority)
        return value

    def read_at(
        self,
        func: Callable[[Tx], T],
        *,
        budget: Budget,
        priority: int = PRIORITY_DEFAULT,
        staleness: timedelta | None = None,
    ) -> tuple[T, datetime | None]:
        """One single-use read, strong or at most ``staleness`` old; and its timestamp."""
        return reads.read(self._sessions, func, budget, priority, staleness)

    def read_consistent(
        self,
        func: Callable[[Tx], T],
        *,
        budget: Budget,
        priority: int = PRIORITY_DEFAULT,
        staleness: timedelta | None = None,
    ) -> tuple[T, datetime]:
        return reads.read_consistent(self._sessions, func, budget, priority, staleness)

    def time_bounds(self, instant: float) -> TimeBounds | None:
        """Bounds on Spanner's time at monotonic ``instant``, from commits seen so far."""
        return self.clock.at(instant)

    def ping(self, budget: Budget) -> None:
        """One cheap strong query: Spanner reachable with this role's rights."""
        self.read(lambda tx: tx.query("SELECT 1"), budget=budget)
