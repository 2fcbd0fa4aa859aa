"""What every Spanner call of a request carries, passed down explicitly.

A ``Budget`` is made by the app for one piece of work (``accounts.get``, a commit group):
the monotonic deadline no RPC may outlive, the request/transaction tag, and the
``SpannerMeter`` that adds the Spanner time to the request's log line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

TAG_MAX_CHARS = 50  # Spanner's limit for request and transaction tags (longer: cut)
_TAG_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_TAG_MIN_PRINCIPAL = 4  # shorter than this says nothing: leave the principal out


@dataclass
class SpannerMeter:
    """Spanner time and calls of one request (or group), for its log line."""

    seconds: float = 0.0
    calls: int = 0
    aborts: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def record(self, started: float) -> None:
        self.seconds += time.perf_counter() - started
        self.calls += 1


@dataclass(frozen=True)
class Budget:
    deadline: float  # time.monotonic() after which no Spanner RPC may run
    tag: str
    meters: tuple[SpannerMeter, ...] = ()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def record(self, started: float) -> None:
        for meter in self.meters:
            meter.record(started)

    def count_abort(self) -> None:
        for meter in self.meters:
            meter.aborts += 1


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
