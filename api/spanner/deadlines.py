"""Every Spanner RPC bounded by the deadline of the work it serves.

The client library lets callers pass a timeout to reads and queries, but not to the
calls it makes on its own: ``BeginTransaction``, ``Commit`` and ``Rollback`` run with
the generated defaults (an hour, retrying ``Unavailable``), and so do the session
calls of the pool. So the one ``SpannerClient`` of each database is wrapped here: each
RPC gets ``timeout`` = what is left of the deadline that the running transaction or
snapshot set for this thread (``bounded_by``), and ``Unavailable`` is retried with a
short back-off only while that deadline allows. Outside any such work (start-up, the
session pinger) a fixed background budget applies instead.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core import gapic_v1

from api.spanner.errors import DeadlinePassed

# Unary RPCs: retried on Unavailable within the deadline. Streaming ones are restarted
# by the library itself (it calls again, so each call gets what is left).
UNARY_RPCS = (
    "batch_create_sessions", "create_session", "get_session", "delete_session",
    "begin_transaction", "commit", "rollback", "execute_sql", "read", "execute_batch_dml",
)  # fmt: skip
STREAMING_RPCS = ("execute_streaming_sql", "streaming_read")
RETRY_BASE_SECONDS = 0.02
RETRY_CAP_SECONDS = 0.5

# A thread-local slot, not request state: set and cleared around one transaction or
# snapshot by this layer, read only by the wrapped RPCs beneath it in the same thread.
_deadline: ContextVar[float | None] = ContextVar("spanner_rpc_deadline", default=None)


@contextmanager
def bounded_by(deadline: float) -> Iterator[None]:
    """RPCs made by this thread inside the block end by ``deadline`` (monotonic)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def cut_to(deadline: float) -> None:
    """Inside ``bounded_by``: the RPCs still to come end by ``deadline`` if that is
    sooner (a commit that must land before some instant); until the block ends."""
    current = _deadline.get()
    if current is None:
        raise RuntimeError("cut_to is only meaningful inside bounded_by")
    if deadline < current:
        _deadline.set(deadline)


def _effective_deadline(background_seconds: float) -> float:
    deadline = _deadline.get()
    return deadline if deadline is not None else time.monotonic() + background_seconds


def _timeout(given: Any, remaining: float) -> float:
    if isinstance(given, int | float) and not isinstance(given, bool):
        return min(float(given), remaining)
    return remaining


def _bound_unary(method: Callable[..., Any], background_seconds: float) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(
        *args: Any, retry: Any = gapic_v1.method.DEFAULT, timeout: Any = None, **kw: Any
    ) -> Any:
        deadline = _effective_deadline(background_seconds)
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlinePassed(method.__name__)
            try:
                return method(*args, retry=None, timeout=_timeout(timeout, remaining), **kw)
            except gexc.ServiceUnavailable:
                attempt += 1
                ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**attempt)
                pause = random.uniform(0, ceiling)  # noqa: S311 - jitter, not security
                if time.monotonic() + pause >= deadline:
                    raise
                time.sleep(pause)

    return call


def _bound_streaming(method: Callable[..., Any], background_seconds: float) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(
        *args: Any, retry: Any = gapic_v1.method.DEFAULT, timeout: Any = None, **kw: Any
    ) -> Any:
        remaining = _effective_deadline(background_seconds) - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed(method.__name__)
        return method(*args, retry=None, timeout=_timeout(timeout, remaining), **kw)

    return call


def bind_deadlines(api: Any, *, background_seconds: float) -> None:
    """Wrap the RPC methods of one ``SpannerClient`` (in place, once)."""
    if getattr(api, "_ledger_deadlines_bound", False):
        return
    for name in UNARY_RPCS:
        setattr(api, name, _bound_unary(getattr(api, name), background_seconds))
    for name in STREAMING_RPCS:
        setattr(api, name, _bound_streaming(getattr(api, name), background_seconds))
    api._ledger_deadlines_bound = True
