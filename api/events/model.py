"""What an event is, where it sits in commit order, and the cursor that names a place."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from google.api_core.datetime_helpers import DatetimeWithNanoseconds

from api.errors import LedgerError

EventType = Literal[
    "account.opened",
    "account.closed",
    "account.reopened",
    "transfer.created",
    "transfer.posted",
    "transfer.voided",
    "transfer.expired",
    "transfer.reversed",
    "transaction.created",
    "transaction.posted",
    "transaction.voided",
    "transaction.expired",
    "transaction.reversed",
]

EVENT_SHARDS = 8
EVENT_ID_PREFIX = "evt_"
# Orders a transaction's events (and its legs') where an account id cannot: no account id
# has a ':' (api/ids.py), so this key never names an account.
TRANSACTION_KEY_PREFIX = "transaction:"
# The smallest step between two commit timestamps the relay relies on.
TICK = timedelta(microseconds=1)


def event_id(event_type: str, subject: str, commit_timestamp: datetime) -> str:
    """Stable: the same change read twice (a relay restarted, a partition re-read)
    gets the same id, so consumers dedupe by it. What changed, on which resource, when
    it committed: a resource changes at most once per commit and kind of change."""
    digest = hashlib.sha256(
        f"{event_type}\x1f{subject}\x1f{rfc3339(commit_timestamp)}".encode()
    ).hexdigest()
    return EVENT_ID_PREFIX + digest[:32]


def event_shard(event_id_: str) -> int:
    return int(event_id_.removeprefix(EVENT_ID_PREFIX)[:8], 16) % EVENT_SHARDS


def rfc3339(instant: datetime) -> str:
    """Nanoseconds kept where the client gave them (commit timestamps)."""
    if isinstance(instant, DatetimeWithNanoseconds):
        return str(instant.rfc3339())
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> DatetimeWithNanoseconds:
    parsed: DatetimeWithNanoseconds = DatetimeWithNanoseconds.from_rfc3339(text)
    return parsed


@dataclass(frozen=True, order=True)
class Place:
    """A place in commit order: after every event at or before it.

    ``position`` None stands after every event of ``commit_timestamp``.
    """

    commit_timestamp: datetime
    position: str | None = None

    def key(self) -> tuple[datetime, str]:
        # "\U0010ffff" sorts after any position the relay writes (ASCII).
        return (self.commit_timestamp, "\U0010ffff" if self.position is None else self.position)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    commit_timestamp: datetime
    position: str
    account_ids: tuple[str, ...]
    data: dict[str, Any] = field(compare=False)

    @property
    def place(self) -> Place:
        return Place(self.commit_timestamp, self.position)

    @property
    def shard(self) -> int:
        return event_shard(self.id)

    @property
    def transaction_id(self) -> str | None:
        """The multi-leg transaction the event is of, or of whose leg."""
        if self.type.startswith("transaction."):
            return str(self.data["id"])
        leg_of = self.data.get("transaction_id")
        return str(leg_of) if leg_of else None

    @property
    def ordering_keys(self) -> tuple[str, ...]:
        """What the event is delivered in order with: each account it concerns and, for a
        transaction or one of its legs, that transaction (``transaction:<id>``)."""
        transaction = self.transaction_id
        if transaction is None:
            return self.account_ids
        return (*self.account_ids, TRANSACTION_KEY_PREFIX + transaction)

    def to_json(self) -> dict[str, Any]:
        """The one shape of an event: feed item, Pub/Sub message, webhook body."""
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": rfc3339(self.commit_timestamp),
            "account_ids": list(self.account_ids),
            "data": self.data,
        }


class InvalidCursor(LedgerError):
    status = 422
    code = "invalid_cursor"
    title = "Invalid cursor"


def encode_cursor(place: Place) -> str:
    text = rfc3339(place.commit_timestamp) + "|" + (place.position or "")
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Place:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, separator, position = text.partition("|")
        place = Place(parse_rfc3339(stamp), position or None)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid_cursor() from exc
    if not separator:
        raise _invalid_cursor()
    return place


def _invalid_cursor() -> InvalidCursor:
    return InvalidCursor(
        "The cursor is not one this feed returned: pass next_cursor back unchanged."
    )
