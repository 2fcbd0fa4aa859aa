"""What a repository receives: a Spanner transaction or snapshot plus the per-call
options every call must carry (request tag, remaining deadline, priority)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from google.cloud.spanner_v1 import RequestOptions

# proto-plus enums are ints to mypy; name the ones we use.
Priority = RequestOptions.Priority
PRIORITY_DEFAULT: int = Priority.PRIORITY_UNSPECIFIED
PRIORITY_LOW: int = Priority.PRIORITY_LOW


class DeadlinePassed(Exception):
    """The request's budget ran out before a Spanner call could start."""


@dataclass(frozen=True)
class Tx:
    # A Transaction or a Snapshot. Typed Any: the client's methods are unannotated.
    raw: Any
    tag: str
    deadline: float  # time.monotonic()
    priority: int = PRIORITY_DEFAULT

    def options(self) -> dict[str, Any]:
        """Keyword arguments for ``read``/``execute_sql``: tag, priority, timeout."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed(self.tag)
        return {
            "request_options": RequestOptions(request_tag=self.tag, priority=self.priority),
            "timeout": remaining,
        }
