"""Per-request state that cross-cuts every layer: deadline and Spanner time.

Set once by the request middleware; read by the Spanner layer so that every call is
bounded by the request's budget and its time is added to the request's log line.
Context variables follow the request into the threadpool (anyio copies the context).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class RequestScope:
    deadline: float  # time.monotonic() value after which no Spanner call may start
    spanner_seconds: float = 0.0
    spanner_calls: int = 0
    aborts: int = 0
    principal: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


_current: ContextVar[RequestScope | None] = ContextVar("ledger_request_scope", default=None)


def current_scope() -> RequestScope | None:
    return _current.get()


def begin_scope(timeout_seconds: float) -> RequestScope:
    scope = RequestScope(deadline=time.monotonic() + timeout_seconds)
    _current.set(scope)
    return scope
