"""One worker's access to one Spanner database (optionally as one database role).

Owns the session pool (warmed at start, pinged in the background), the gate that
bounds read-write transactions in flight, and the abort-retry loop with its back-off.
Everything a request does in Spanner goes through ``write`` or ``read``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import spanner
from google.cloud.spanner_v1.database import Database
from google.cloud.spanner_v1.pool import AbstractSessionPool, PingingPool

from api.config import Settings
from api.context import current_scope
from api.spanner.env import configure_client_environment
from api.spanner.tx import PRIORITY_DEFAULT, DeadlinePassed, Tx

log = logging.getLogger(__name__)

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


# --- request and transaction tags ---------------------------------------------------

TAG_MAX_CHARS = 50  # Spanner's limit for request and transaction tags (longer: cut)
_TAG_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_TAG_MIN_PRINCIPAL = 4  # shorter than this says nothing: leave the principal out


def _tag_value(value: str) -> str:
    return "".join(c if c in _TAG_SAFE else "_" for c in value)


def compose_tag(action: str, principal: str | None) -> str:
    """``action=<action>,principal=<who>``: the tag of every Spanner call of a request.

    Spanner groups its query, read, transaction and lock statistics (``SPANNER_SYS``)
    by tag, so tags must stay few: the action is one of a fixed set, and the principal
    is the caller's name without its domain (a service account's id, one per calling
    service). Only letters, digits, ``.``, ``_`` and ``-`` are kept, so the
    ``key=value,...`` shape cannot be forged, and the whole fits Spanner's 50
    characters: the principal is shortened, or left out when there is no room.
    """
    tag = "action=" + (_tag_value(action) or "unknown")
    if len(tag) > TAG_MAX_CHARS:
        return tag[:TAG_MAX_CHARS]
    if not principal:
        return tag
    who = _tag_value(principal.partition("@")[0]).lstrip("_")
    room = TAG_MAX_CHARS - len(tag) - len(",principal=")
    if not who or room < min(_TAG_MIN_PRINCIPAL, len(who)):
        return tag
    return f"{tag},principal={who[:room]}"


def request_tag(action: str) -> str:
    """The tag for ``action`` done for the current request's principal (if any)."""
    scope = current_scope()
    return compose_tag(action, scope.principal if scope is not None else None)


class LedgerDatabase:
    def __init__(
        self, settings: Settings, client: spanner.Client, *, role: str | None = None
    ) -> None:
        self.settings = settings
        self.role = role
        self._client = client
        self._lock = threading.Lock()
        self._database: Database | None = None
        self._pool: AbstractSessionPool | None = None
        self._stop = threading.Event()
        self._pinger: threading.Thread | None = None
        limit = settings.effective_max_inflight_writes
        self._write_gate = threading.BoundedSemaphore(limit) if limit else None

    # --- lifecycle -------------------------------------------------------------

    def open(self) -> None:
        """Create and warm the session pool; tolerate a database that isn't there yet.

        A failure here is logged and retried on first use so the worker still starts
        and ``/readyz`` can say what is wrong.
        """
        try:
            self._ensure_database()
        except gexc.GoogleAPICallError as exc:
            log.warning("Spanner database not ready at start-up: %s", exc.message)

    def _ensure_database(self) -> Database:
        if self._database is not None:
            return self._database
        with self._lock:
            if self._database is None:
                self._database = self._build_database()
                self._start_pinger()
            return self._database

    def _build_database(self) -> Database:
        instance = self._client.instance(self.settings.spanner_instance)
        if self.settings.effective_session_mode == "multiplexed":
            database: Database = instance.database(
                self.settings.spanner_database, database_role=self.role
            )
            return database
        # PingingPool creates all its sessions now (BatchCreateSessions): warm from
        # the first request. FixedSizePool is avoided: with multiplexed sessions off
        # it raises a naive/aware datetime TypeError on second use (client bug).
        pool = PingingPool(
            size=self.settings.pool_size,
            default_timeout=self.settings.pool_timeout_seconds,
            ping_interval=self.settings.pool_ping_interval_seconds,
            database_role=self.role,
        )
        pooled: Database = instance.database(
            self.settings.spanner_database, pool=pool, database_role=self.role
        )
        self._pool = pool
        return pooled

    def _start_pinger(self) -> None:
        pool = self._pool
        if not isinstance(pool, PingingPool):
            return
        interval = max(30.0, self.settings.pool_ping_interval_seconds / 4)

        def ping_forever() -> None:
            while not self._stop.wait(interval):
                try:
                    pool.ping()
                except Exception:  # a failed ping must never kill the thread
                    log.warning("session pool ping failed", exc_info=True)

        self._pinger = threading.Thread(
            target=ping_forever, name=f"spanner-pinger-{self.role or 'default'}", daemon=True
        )
        self._pinger.start()

    def close(self) -> None:
        # Deliberately not Database.close(): the sync close can block for minutes and
        # Cloud Run allows 10 s after SIGTERM. Sessions expire server-side.
        self._stop.set()

    @property
    def database(self) -> Database:
        return self._ensure_database()

    # --- work -------------------------------------------------------------------

    def write(
        self, func: Callable[[Tx], T], *, tag: str, deadline: float | None = None
    ) -> Committed[T]:
        """Run ``func`` in a read-write transaction, retrying aborts until the deadline.

        ``func`` may run several times: it must only read, check and buffer. The
        deadline (``time.monotonic()``) defaults to the current request's.
        """
        deadline = deadline if deadline is not None else _deadline(self.settings)
        database = self._ensure_database()
        attempts: list[Any] = []  # each run's transaction; the last one committed
        tagged = request_tag(tag)  # one tag for every attempt and statement

        def run(raw: Any) -> T:
            attempts.append(raw)
            return func(Tx(raw, tagged, deadline))

        with self._gate(deadline):
            attempt = 0
            while True:
                attempt += 1
                started = time.perf_counter()
                try:
                    value = database.run_in_transaction(
                        run,
                        transaction_tag=tagged,
                        # 0: the client's own retry (2**n seconds) never runs; ours does.
                        timeout_secs=0,
                    )
                    return Committed(value, attempts[-1].committed)
                except gexc.Aborted:
                    delay = abort_backoff(
                        attempt,
                        base_ms=self.settings.abort_retry_base_ms,
                        cap_ms=self.settings.abort_retry_cap_ms,
                    )
                    _count_abort()
                    if time.monotonic() + delay >= deadline:
                        raise
                    time.sleep(delay)
                    continue
                finally:
                    _record(started)

    def read(
        self,
        func: Callable[[Tx], T],
        *,
        tag: str,
        priority: int = PRIORITY_DEFAULT,
    ) -> T:
        """Run ``func`` against one strong, single-use snapshot."""
        deadline = _deadline(self.settings)
        started = time.perf_counter()
        try:
            with self._ensure_database().snapshot() as snapshot:
                return func(Tx(snapshot, request_tag(tag), deadline, priority))
        finally:
            _record(started)

    def read_consistent(
        self,
        func: Callable[[Tx], T],
        *,
        tag: str,
        priority: int = PRIORITY_DEFAULT,
    ) -> tuple[T, datetime]:
        """Several reads from ONE strong snapshot, and that snapshot's timestamp."""
        deadline = _deadline(self.settings)
        started = time.perf_counter()
        try:
            with self._ensure_database().snapshot(multi_use=True) as snapshot:
                result = func(Tx(snapshot, request_tag(tag), deadline, priority))
                # The client exposes the chosen timestamp only on this attribute; it
                # is set by the first read of a multi-use snapshot.
                read_timestamp: datetime | None = snapshot._transaction_read_timestamp
                if read_timestamp is None:
                    raise RuntimeError("snapshot read timestamp missing")
                return result, read_timestamp
        finally:
            _record(started)

    def ping(self) -> None:
        """One cheap strong query: Spanner reachable with this role's rights."""
        self.read(lambda tx: list(tx.raw.execute_sql("SELECT 1", **tx.options())), tag="ping")

    @contextmanager
    def _gate(self, deadline: float) -> Iterator[None]:
        gate = self._write_gate
        if gate is None:
            yield
            return
        if not gate.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise DeadlinePassed("waiting for a write slot")
        try:
            yield
        finally:
            gate.release()


def _deadline(settings: Settings) -> float:
    scope = current_scope()
    if scope is not None:
        return scope.deadline
    return time.monotonic() + settings.request_timeout_seconds


def _record(started: float) -> None:
    """Add one Spanner call, begun at ``started``, to the request's log figures."""
    scope = current_scope()
    if scope is not None:
        scope.spanner_seconds += time.perf_counter() - started
        scope.spanner_calls += 1


def _count_abort() -> None:
    scope = current_scope()
    if scope is not None:
        scope.aborts += 1


def build_client(settings: Settings, **kwargs: Any) -> spanner.Client:
    configure_client_environment(settings)
    return spanner.Client(project=settings.project, **kwargs)
