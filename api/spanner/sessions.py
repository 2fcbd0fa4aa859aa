"""Sessions of one database handle: the pool (warmed at start, pinged in the
background) and a checkout bounded by the caller's deadline."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from google.cloud import spanner
from google.cloud.spanner_v1.database import Database
from google.cloud.spanner_v1.pool import PingingPool

from api.spanner.config import SpannerConfig
from api.spanner.deadlines import bind_deadlines, bounded_by
from api.spanner.errors import DeadlinePassed, SessionsExhausted

log = logging.getLogger(__name__)

MIN_PING_PERIOD_SECONDS = 30.0


class SessionSource:
    """One ``google.cloud.spanner`` Database and where its sessions come from."""

    def __init__(self, config: SpannerConfig, client: spanner.Client, role: str | None) -> None:
        self._config = config
        self.config = config
        self._role = role
        instance = client.instance(config.instance)
        self._pool: PingingPool | None = None
        if config.session_mode == "pooled":
            # Not FixedSizePool: with multiplexed sessions off it raises a naive/aware
            # datetime TypeError on second use (client bug).
            self._pool = PingingPool(
                size=config.pool_size,
                default_timeout=config.background_timeout_seconds,
                ping_interval=config.pool_ping_interval_seconds,
                database_role=role,
            )
        # Built directly, not by instance.database(): that one binds the pool (creates
        # its sessions) at once, before the RPCs could be bounded.
        self.database = Database(config.database, instance, pool=self._pool, database_role=role)
        bind_deadlines(
            self.database.spanner_api, background_seconds=config.background_timeout_seconds
        )
        if self._pool is None:
            # Multiplexed: the library's default pool stays as a fallback; binding it
            # makes no RPC.
            self.database._pool.bind(self.database)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._warm = self._pool is None

    def warm(self, deadline: float | None = None) -> None:
        """Create the pool's sessions (BatchCreateSessions), once: warm from request one.

        Tried at start-up; if the database is not reachable then, tried again by the
        first unit of work, within that work's deadline.
        """
        if self._warm or self._pool is None:
            return
        with self._lock:
            if self._warm:
                return
            budget = deadline or time.monotonic() + self._config.background_timeout_seconds
            with bounded_by(budget):
                self._pool.bind(self.database)
            self._warm = True
            self._start_pinger()

    def _start_pinger(self) -> None:
        pool = self._pool
        if pool is None:
            return
        interval = max(MIN_PING_PERIOD_SECONDS, self._config.pool_ping_interval_seconds / 4)

        def ping_forever() -> None:
            while not self._stop.wait(interval):
                try:
                    pool.ping()
                except Exception:  # a failed ping must never kill the thread
                    log.warning("session pool ping failed", exc_info=True)

        threading.Thread(
            target=ping_forever, name=f"spanner-pinger-{self._role or 'default'}", daemon=True
        ).start()

    @contextmanager
    def session(self, deadline: float) -> Iterator[Any]:
        """A session for one unit of work, waiting for a free one until ``deadline``.

        In multiplexed mode there is nothing to wait for: None, and the caller uses
        the database's own transaction and snapshot entry points.
        """
        if self._pool is None:
            yield None
            return
        self.warm(deadline)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed("waiting for a session")
        try:
            session = self._pool.get(timeout=remaining)
        except queue.Empty:
            raise SessionsExhausted(
                f"no free session among {self._config.pool_size} before the deadline"
            ) from None
        try:
            yield session
        finally:
            self._pool.put(session)

    def close(self) -> None:
        # Deliberately not Database.close(): the sync close can block for minutes and
        # Cloud Run allows 10 s after SIGTERM. Sessions expire server-side.
        self._stop.set()
