"""How fresh a read must be. Strong by default; lists, history and queries may accept
bounded staleness (``?max_staleness=`` seconds, capped by LEDGER_MAX_STALENESS_SECONDS),
which lets Spanner serve them from any current-enough replica without the leader (and,
configured, from read-only replicas). Every such response says when it read."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Query

from api.config import Settings
from api.errors import ValidationFailed

MaxStaleness = Annotated[
    float | None,
    Query(
        gt=0,
        description="Accept data up to this many seconds old (capped by "
        "LEDGER_MAX_STALENESS_SECONDS; absent: strong). The response's read_timestamp says "
        "when it read.",
    ),
]


def staleness(max_staleness: float | None, settings: Settings) -> timedelta | None:
    if max_staleness is None:
        return None
    if max_staleness > settings.max_staleness_seconds:
        raise ValidationFailed(
            f"max_staleness may be at most {settings.max_staleness_seconds:g} seconds.",
            errors=[{"loc": ["query", "max_staleness"], "type": "less_than_equal"}],
        )
    return timedelta(seconds=max_staleness)
