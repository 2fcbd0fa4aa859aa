from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import AUTH_ERRORS
from api.deps import ReadAccess
from api.edge import EDGE_RESPONSES
from api.errors import ValidationFailed, problem_responses
from api.events import feed
from api.events.feed import CursorExpired
from api.events.model import InvalidCursor
from api.events.schemas import EventPage

router = APIRouter(
    prefix="/v1",
    tags=["events"],
    responses=EDGE_RESPONSES,
)

FEED_PARAMETERS = frozenset(("after", "limit"))


@router.get(
    "/events",
    summary="The change feed: every committed change, in commit order, from a cursor",
    description="Poll with the next_cursor of the last page. Events are served from "
    "starts_at up to complete_until only, so a cursor never skips an event: one from "
    "before starts_at (older than the 30 days events are kept, or before a gap an "
    "operator accepted) is 410 cursor_expired. Dedupe by event id: a restarted relay may "
    "store an event again, under the same id.",
    responses=problem_responses(*AUTH_ERRORS, InvalidCursor, CursorExpired),
)
def list_events(
    request: Request,
    caller: ReadAccess,
    after: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the last page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    unknown = sorted(set(request.query_params) - FEED_PARAMETERS)
    if unknown:
        raise ValidationFailed(f"Unknown parameter {unknown[0][:64]!r}; use after and limit.")
    return feed.read_feed(databases=caller.databases, ctx=caller.ctx, after=after, limit=limit)
