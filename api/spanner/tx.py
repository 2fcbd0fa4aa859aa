"""What a repository receives: a Spanner transaction or snapshot plus the per-call
options every call must carry (request tag, remaining deadline, priority)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from google.cloud.spanner_v1 import RequestOptions
from google.cloud.spanner_v1.snapshot import Snapshot
from google.cloud.spanner_v1.transaction import Transaction

Priority = RequestOptions.Priority


class DeadlinePassed(Exception):
    """The request's budget ran out before a Spanner call could start."""


@dataclass(frozen=True)
class Tx:
    raw: Transaction | Snapshot
    tag: str
    deadline: float  # time.monotonic()
    priority: Priority = Priority.PRIORITY_UNSPECIFIED

    @property
    def is_write(self) -> bool:
        return isinstance(self.raw, Transaction)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for ``read``/``execute_sql``: tag, priority, timeout."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed(self.tag)
        return {
            "request_options": RequestOptions(
                request_tag=self.tag, priority=self.priority
            ),
            "timeout": remaining,
        }
