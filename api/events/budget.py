"""The budget of the pipeline's own Spanner calls (no request to inherit one from)."""

from __future__ import annotations

from api.context import RequestContext
from api.spanner.call import Call

CALL_BUDGET_SECONDS = 30.0


def background_call(action: str) -> Call:
    return RequestContext.starting_now(CALL_BUDGET_SECONDS).call(action)
