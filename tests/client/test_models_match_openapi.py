"""The client's routes and models are the service's: same operations, and per schema
the same field names, types and required-ness (constraints and texts aside).

Schemas are compared by structure, not by name, so a model may be renamed on either
side; ``$ref``s are resolved in the document they come from.
"""

from __future__ import annotations

from typing import Any

import pytest
from ledger_client.calls import ROUTES, Route
from pydantic import BaseModel

from api.app import create_app
from tests.support import make_settings

NULL = ("null",)
# Routes of the service the client does not speak: probes, not API.
NOT_CLIENT_ROUTES = {("GET", "/healthz"), ("GET", "/readyz")}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    app = create_app(make_settings("localhost:9", "unused"), configure_logs=False)
    return app.openapi()


def normalize(schema: dict[str, Any], components: dict[str, Any]) -> Any:  # noqa: PLR0911 - one return per JSON Schema form
    """A hashable picture of what a schema accepts: types and fields, nothing else."""
    if "$ref" in schema:
        return normalize(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return ("union", frozenset(alternatives(schema, components)))
    if "const" in schema:
        return ("const", schema["const"])
    if "enum" in schema:
        return ("enum", frozenset(schema["enum"]))
    kind = schema.get("type")
    if kind == "array":
        return ("list", normalize(schema["items"], components))
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        fields = []
        for name, prop in schema["properties"].items():
            # A constant with a default (a batch item's "op") is always sent.
            always = name in required or ("const" in prop and "default" in prop)
            fields.append((name, normalize(prop, components), always))
        return ("object", tuple(sorted(fields)))
    if kind == "object":
        values = schema.get("additionalProperties", True)
        if "patternProperties" in schema:
            (values,) = schema["patternProperties"].values()
        return ("map", normalize(values, components) if isinstance(values, dict) else "any")
    if kind == "string" and schema.get("format") == "date-time":
        return ("datetime",)
    if kind is None and not schema:
        return ("any",)
    return (kind,)


def alternatives(schema: dict[str, Any], components: dict[str, Any]) -> set[Any]:
    """The schemas a value may match, unions flattened."""
    if "$ref" in schema:
        return alternatives(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return set().union(*(alternatives(s, components) for s in schema[key]))
    return {normalize(schema, components)}


def client_shape(models: tuple[type[BaseModel], ...]) -> set[Any]:
    shapes: set[Any] = set()
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        shapes |= alternatives(schema, schema.get("$defs", {}))
    return shapes


def server_operation(openapi: dict[str, Any], route: Route) -> dict[str, Any]:
    return openapi["paths"][route.path][route.method.lower()]


def served_routes(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, item in openapi["paths"].items() for method in item
    } - NOT_CLIENT_ROUTES


def test_client_speaks_every_route_the_service_serves(openapi: dict[str, Any]) -> None:
    assert served_routes(openapi) <= {(r.method, r.path) for r in ROUTES}


def test_client_routes_exist_on_the_service(openapi: dict[str, Any]) -> None:
    assert {(r.method, r.path) for r in ROUTES} <= served_routes(openapi)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_request_model_matches(openapi: dict[str, Any], route: Route) -> None:
    body = server_operation(openapi, route).get("requestBody")
    components = openapi["components"]["schemas"]
    if body is None:
        assert route.request is None
        return
    assert route.request is not None
    served = alternatives(body["content"]["application/json"]["schema"], components) - {NULL}
    assert client_shape((route.request,)) == served


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_response_models_match(openapi: dict[str, Any], route: Route) -> None:
    components = openapi["components"]["schemas"]
    served: set[Any] = set()
    for status, response in server_operation(openapi, route)["responses"].items():
        if status.startswith("2"):
            served |= alternatives(response["content"]["application/json"]["schema"], components)
    assert client_shape(route.responses) == served


def test_problem_matches(openapi: dict[str, Any]) -> None:
    from ledger_client.models import Problem  # noqa: PLC0415

    components = openapi["components"]["schemas"]
    assert client_shape((Problem,)) == alternatives(components["Problem"], components)
