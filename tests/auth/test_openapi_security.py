"""The OpenAPI document tells the truth about authentication: the bearer token is an
HTTP security scheme on the /v1 operations when tokens are checked, nothing when they
are not, and never an ``Authorization`` header parameter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def document(kit, mode: str) -> dict[str, Any]:
    app = create_app(kit.settings(auth_mode=mode, gc_gen0_threshold=0), configure_logs=False)
    response = TestClient(app).get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


@pytest.mark.parametrize("mode", ["none", "google", "oidc"])
def test_no_operation_declares_an_authorization_header_parameter(kit, mode):
    for path, method, operation in operations(document(kit, mode)):
        names = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "authorization" not in names, (method, path)


@pytest.mark.parametrize("mode", ["google", "oidc"])
def test_with_authentication_every_v1_operation_requires_the_bearer_scheme(kit, mode):
    schema = document(kit, mode)
    scheme = schema["components"]["securitySchemes"]["BearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "security" not in schema  # per operation: health and docs stay open
    v1 = [(p, m, op) for p, m, op in operations(schema) if p.startswith("/v1/")]
    assert v1
    for path, method, operation in v1:
        assert operation["security"] == [{"BearerToken": []}], (method, path)
    for path in ("/healthz", "/readyz"):
        assert "security" not in schema["paths"][path]["get"]


def test_without_authentication_nothing_declares_security(kit):
    schema = document(kit, "none")
    assert "securitySchemes" not in schema.get("components", {})
    assert "security" not in schema
    for path, method, operation in operations(schema):
        assert "security" not in operation, (method, path)
