"""Instants and time ranges callers ask about: RFC 3339 with a zone, never in the future.

"The future" is Spanner's: a read answers only up to its own snapshot's timestamp, so an
instant after it is refused once the read has seen what time it is.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime, BeforeValidator

from api.errors import ValidationFailed

# RFC 3339's date-time: a date, a time and a zone, nothing else. Pydantic alone also
# takes a number (seconds since 1970: "?as_of=0.5" would be a date in 1970) and a date.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with a zone, e.g. 2026-09-30T23:59:59Z")
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 date-time string with a zone")  # noqa: TRY004
    return value


# An instant a caller names: RFC 3339 with a zone, or a 422.
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


class InstantInFuture(ValidationFailed):
    code = "instant_in_future"
    title = "The instant is in the future"


class InvalidTimeRange(ValidationFailed):
    code = "invalid_time_range"
    title = "The time range is empty or reversed"


AsOf = Annotated[
    Instant | None,
    Query(
        description="RFC 3339 with a zone and up to microseconds, e.g. "
        "2026-09-30T23:59:59.999999Z: the balances at that instant, from the entries (any "
        "age)."
    ),
]
RangeFrom = Annotated[
    Instant | None,
    Query(alias="from", description="RFC 3339 with a zone: entries posted at or after it."),
]
RangeTo = Annotated[
    Instant | None,
    Query(alias="to", description="RFC 3339 with a zone: entries posted before it."),
]


def with_zone(instant: datetime | None, name: str) -> datetime | None:
    if instant is not None and instant.utcoffset() is None:
        raise ValidationFailed(
            f"{name} needs a time zone (RFC 3339, e.g. 2026-09-30T23:59:59Z).",
            errors=[{"loc": ["query", name], "type": "timezone_aware"}],
        )
    return instant


def check_range(start: datetime | None, end: datetime | None) -> None:
    with_zone(start, "from")
    with_zone(end, "to")
    if start is not None and end is not None and start >= end:
        raise InvalidTimeRange(f"from ({start.isoformat()}) must be before to ({end.isoformat()}).")


def check_not_future(instant: datetime | None, read_timestamp: datetime, name: str) -> None:
    if instant is not None and instant > read_timestamp:
        raise InstantInFuture(
            f"{name} {instant.isoformat()} is after Spanner's current time "
            f"({read_timestamp.isoformat()})."
        )
