"""The OpenAPI document declares what the service enforces (api/openapi.py), and a
method a path does not have is a 405 naming the ones it has. No database needed: both
are answered before any route runs."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support import make_settings

VERB_PATHS = [
    "/v1/accounts/a-1:close", "/v1/accounts/a-1:reopen",
    "/v1/transfers/t-1:post", "/v1/transfers/t-1:void", "/v1/transfers/t-1:reverse",
    "/v1/transactions/x-1:post", "/v1/transactions/x-1:void", "/v1/transactions/x-1:reverse",
]  # fmt: skip


@pytest.fixture(scope="module")
def app_client() -> TestClient:
    settings = make_settings("localhost:9010", "db", max_page_size=200, max_balance_ids=40)
    return TestClient(create_app(settings, configure_logs=False))


def parameter(schema: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", VERB_PATHS)
def test_another_method_on_a_verb_path_is_405_allowing_post(
    app_client: TestClient, path: str, method: str
) -> None:
    """GET /v1/accounts/{id}:close was the GET route of the account 'id:close' (a 422)."""
    response = app_client.request(method, path)
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_page_size_is_declared_with_the_bounds_the_settings_enforce(
    app_client: TestClient,
) -> None:
    schema = app_client.get("/openapi.json").json()
    for path in ("/v1/accounts", "/v1/accounts/{account_id}/entries", "/v1/transfers"):
        declared = parameter(schema, path, "page_size")["schema"]
        assert (declared["minimum"], declared["maximum"]) == (1, 200), path


def test_account_ids_are_declared_as_the_comma_separated_list_they_are(
    app_client: TestClient,
) -> None:
    declared = parameter(app_client.get("/openapi.json").json(), "/v1/balances", "account_ids")
    assert (declared["style"], declared["explode"], declared["required"]) == ("form", False, True)
    assert declared["schema"]["type"] == "array"
    assert (declared["schema"]["minItems"], declared["schema"]["maxItems"]) == (1, 40)


@pytest.mark.parametrize("path", ["/v1/accounts", "/v1/transfers"])
def test_label_filters_are_declared_as_label_dot_key_pairs(
    app_client: TestClient, path: str
) -> None:
    declared = parameter(app_client.get("/openapi.json").json(), path, "labels")
    assert (declared["style"], declared["explode"]) == ("form", True)
    (key_pattern,) = declared["schema"]["patternProperties"]
    assert key_pattern.startswith("^label\\.")
    assert declared["schema"]["additionalProperties"] is False
