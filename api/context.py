"""A request's budget and identity, handed explicitly to every service call.

The request log middleware opens a ``RequestRecord`` (the deadline, and the meter its
log line reads) on the ASGI scope's state; a route's one dependency (api.deps) turns
it, with the verified principal, into the frozen ``RequestContext`` that routers pass
to services, and services turn into a ``Budget`` for each piece of Spanner work.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from api.spanner.budget import Budget, SpannerMeter, compose_tag

STATE_KEY = "ledger_request"


@dataclass
class RequestRecord:
    deadline: float  # time.monotonic() after which no Spanner call may start
    meter: SpannerMeter = field(default_factory=SpannerMeter)
    principal: str | None = None


def open_record(scope: MutableMapping[str, Any], timeout_seconds: float) -> RequestRecord:
    record = RequestRecord(deadline=time.monotonic() + timeout_seconds)
    scope.setdefault("state", {})[STATE_KEY] = record
    return record


def find_record(scope: Mapping[str, Any]) -> RequestRecord | None:
    record = scope.get("state", {}).get(STATE_KEY)
    return record if isinstance(record, RequestRecord) else None


@dataclass(frozen=True)
class RequestContext:
    deadline: float
    principal: str | None = None
    meter: SpannerMeter | None = None

    @classmethod
    def starting_now(
        cls, timeout_seconds: float, *, principal: str | None = None
    ) -> RequestContext:
        """A context of its own (tools, tests, work outside an HTTP request)."""
        return cls(deadline=time.monotonic() + timeout_seconds, principal=principal)

    def budget(self, action: str) -> Budget:
        """The ``Budget`` for one piece of this request's Spanner work."""
        meters = (self.meter,) if self.meter is not None else ()
        return Budget(self.deadline, compose_tag(action, self.principal), meters)
