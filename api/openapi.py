"""The OpenAPI document as the contract: what FastAPI cannot infer from the routes.

FastAPI writes what the route signatures say. Some of what the service enforces depends
on settings or is read from the query string by hand; it is declared here, so that
generated clients and schema-driven testers (tests/app/test_schemathesis.py) send what
the service takes:

- ``page_size``: 1 to ``LEDGER_MAX_PAGE_SIZE``;
- ``account_ids`` of ``GET /v1/balances``: a comma-separated list (form, not exploded)
  of 1 to ``LEDGER_MAX_BALANCE_IDS`` ids;
- ``label.KEY=VALUE`` filters: an exploded object of at most 16 such pairs;
- ``#/components/schemas/Problem``, used by every route's errors;
- the bearer scheme on the /v1 operations, when tokens are checked at all (the
  middleware, not a dependency, reads the token: FastAPI cannot see it).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.auth import Authenticator
from api.auth.middleware import declare_bearer_security
from api.config import Settings
from api.errors import Problem
from api.filters import LABEL_PREFIX
from api.ids import ID_PATTERN, LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, MAX_LABELS

# The lists that take label.KEY=VALUE filters (api.filters.label_filters).
LABEL_FILTERED = ("/v1/accounts", "/v1/transfers")


def complete_openapi(app: FastAPI, settings: Settings) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.setdefault("Problem", Problem.model_json_schema())
            _declare_query_rules(schema, settings)
            authenticator = getattr(app.state, "authenticator", None)
            if isinstance(authenticator, Authenticator) and authenticator.enabled:
                declare_bearer_security(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_query_rules(schema: dict[str, Any], settings: Settings) -> None:
    for path, item in schema.get("paths", {}).items():
        get = item.get("get")
        if get is None:
            continue
        parameters: list[dict[str, Any]] = get.setdefault("parameters", [])
        for parameter in parameters:
            if parameter["in"] != "query":
                continue
            if parameter["name"] == "page_size":
                parameter["schema"] = {
                    "type": "integer", "minimum": 1, "maximum": settings.max_page_size,
                    "description": f"Default {settings.default_page_size}.",
                }  # fmt: skip
            elif parameter["name"] == "account_ids":
                parameter.update(style="form", explode=False)
                parameter["schema"] = {
                    "type": "array",
                    "items": {"type": "string", "pattern": ID_PATTERN, "maxLength": 64},
                    "minItems": 1,
                    "maxItems": settings.max_balance_ids,
                }
        if path in LABEL_FILTERED:
            parameters.append(_label_filters())


def _label_filters() -> dict[str, Any]:
    key = LABEL_PREFIX.replace(".", "\\.") + LABEL_KEY_PATTERN.removeprefix("^")
    return {
        "name": "labels",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "description": "label.KEY=VALUE filters, all of which must match (the parameter's "
        "name is not sent: each pair is its own query parameter).",
        "schema": {
            "type": "object",
            "patternProperties": {"^" + key: {"type": "string", "pattern": LABEL_VALUE_PATTERN}},
            "additionalProperties": False,
            "maxProperties": MAX_LABELS,
        },
    }
