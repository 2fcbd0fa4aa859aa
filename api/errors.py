"""Domain errors and their one rendering: RFC 9457 problem details.

Every expected failure is a ``LedgerError`` subclass that knows its HTTP status and its
stable machine-readable ``code``. Routers and services raise them; one handler in
``api.app`` renders them. Nothing else builds error responses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://spanner-ledger.dev/problems/"


class Problem(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "insufficient_funds"])
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable error code.")
    # Optional members are left out when absent, wherever a problem is rendered.
    instance: str | None = Field(default=None, exclude_if=lambda v: v is None)
    errors: list[dict[str, Any]] | None = Field(
        default=None,
        description="Field-level details for validation errors.",
        exclude_if=lambda v: v is None,
    )


class LedgerError(Exception):
    # Class-level defaults; an instance may override them (see BatchItemFailed).
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def to_problem(self, instance: str | None = None) -> Problem:
        return Problem(
            type=PROBLEM_TYPE_BASE + self.code,
            title=self.title,
            status=self.status,
            detail=self.detail,
            code=self.code,
            instance=instance,
        )


class ValidationFailed(LedgerError):
    status = 422
    code = "validation_error"
    title = "Request is not valid"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors

    def to_problem(self, instance: str | None = None) -> Problem:
        problem = super().to_problem(instance)
        problem.errors = self.errors
        return problem


class NotFound(LedgerError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(LedgerError):
    status = 409
    code = "conflict"
    title = "Conflict"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "Id already used for a different request"


class BackendUnavailable(LedgerError):
    status = 503
    code = "backend_unavailable"
    title = "Storage backend temporarily unavailable"

    def __init__(self, detail: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


class InternalError(LedgerError):
    """An unexpected backend answer; the detail never carries internals."""


class HttpError(LedgerError):
    """A failure the router raises itself (no such route, wrong method)."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers=headers)
        self.status, self.title = status, detail
        self.code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")


def problem_response(error: LedgerError, *, instance: str | None) -> JSONResponse:
    """The one rendering of an error: RFC 9457 problem+json with its status and headers."""
    return JSONResponse(
        error.to_problem(instance=instance).model_dump(exclude_none=True),
        status_code=error.status,
        headers=error.headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def problem_responses(*errors: type[LedgerError]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` a route declares, so its OpenAPI shows every status."""
    # Any route may also fail validation, meet an unavailable backend, or a bug.
    titles: dict[int, list[str]] = {}
    always: tuple[type[LedgerError], ...] = (ValidationFailed, BackendUnavailable, InternalError)
    for error in (*errors, *always):
        same_status = titles.setdefault(error.status, [])
        if error.title not in same_status:
            same_status.append(error.title)
    declared: dict[int | str, dict[str, Any]] = {
        status: problem_declaration("; ".join(t)) for status, t in sorted(titles.items())
    }
    # A "model" costs a pydantic TypeAdapter per route and status, built at import, only
    # so that FastAPI writes the Problem schema into the OpenAPI document: one does that.
    declared[InternalError.status]["model"] = Problem
    return declared


def problem_declaration(description: str) -> dict[str, Any]:
    """One status of a route's ``responses=``: its description and the problem schema.

    Under both media types, as FastAPI would list a ``model``: its own JSON content too.
    """
    return {
        "description": description,
        "content": {
            media_type: {"schema": {"$ref": "#/components/schemas/Problem"}}
            for media_type in (PROBLEM_CONTENT_TYPE, "application/json")
        },
    }
