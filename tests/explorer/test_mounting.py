"""Where the explorer is served, and what guards it (no browser needed)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support import make_settings


def app_client(**overrides: object) -> TestClient:
    # The static pages need no database: the app is built but its lifespan never runs.
    settings = make_settings("localhost:9", "unused", **overrides)
    return TestClient(create_app(settings, configure_logs=False))


@pytest.fixture
def enabled() -> TestClient:
    return app_client(explorer_enabled=True)


def test_off_by_default() -> None:
    client = app_client()
    assert client.get("/explorer/").status_code == 404


def test_served_when_enabled(enabled: TestClient) -> None:
    response = enabled.get("/explorer/")
    assert response.status_code == 200
    assert '<script type="module" src="explorer.js">' in response.text


def test_pages_forbid_foreign_and_inline_code(enabled: TestClient) -> None:
    policy = enabled.get("/explorer/explorer.js").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_page_loads_without_a_token_while_the_api_needs_one() -> None:
    client = app_client(
        explorer_enabled=True,
        auth_mode="oidc",
        auth_audience="https://ledger.test",
        oidc_issuer="https://issuer.test",
        oidc_jwks_url="https://issuer.test/jwks",
    )
    assert client.get("/explorer/").status_code == 200
    assert client.get("/explorer/explorer.css").status_code == 200
    refused = client.get("/v1/accounts")
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthenticated")
