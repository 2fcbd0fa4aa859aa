"""The budget of the pipeline's own Spanner calls (no request to inherit one from)."""

from __future__ import annotations

from api.context import RequestContext
from api.spanner.budget import Budget

BUDGET_SECONDS = 30.0


def background_budget(action: str) -> Budget:
    return RequestContext.starting_now(BUDGET_SECONDS).budget(action)
