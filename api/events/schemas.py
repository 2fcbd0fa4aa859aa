from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.events.model import EventType


class EventOut(BaseModel):
    id: str = Field(description="Stable: the same change always has the same id; dedupe by it.")
    type: EventType
    occurred_at: datetime = Field(description="Commit timestamp of the change.")
    account_ids: list[str] = Field(
        description="The accounts the change concerns (a transfer: debit, then credit)."
    )
    data: dict[str, Any] = Field(
        description="The resource after the change: a transfer as GET /v1/transfers/{id} "
        "returns it; an account's definition (no balances); a transaction without its legs."
    )


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str = Field(description="Pass as after= for what comes next (also when empty).")
    complete_until: datetime | None = Field(
        description="Every event committed at or before this has been served by this feed "
        "(up to next_cursor). None until the relay has first run."
    )
    starts_at: datetime | None = Field(
        description="Where the feed begins: every event committed from this instant to "
        "complete_until is served. The change stream's creation (so every change the "
        "ledger ever committed), or a later start an operator accepted after an outage "
        "longer than the stream's retention, or 30 days ago, whichever is latest. A "
        "cursor from before it gets 410 cursor_expired. None until the relay has first run.",
    )
