"""CORS: off by default; on for exactly the origins in LEDGER_CORS_ALLOW_ORIGINS."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.config import Settings

ALLOWED = "https://console.example.com"
OTHER = "https://evil.example.net"

pytestmark = pytest.mark.emulator


def preflight(
    client: TestClient, origin: str, method: str = "POST", headers: str = "authorization"
) -> httpx.Response:
    return client.options(
        "/v1/transfers",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.fixture
def cors_client(edge_client: Callable[..., TestClient]) -> TestClient:
    return edge_client(cors_allow_origins=[ALLOWED, "http://localhost:3000"])


def test_cors_is_off_by_default(edge_client: Callable[..., TestClient]) -> None:
    client = edge_client()
    response = client.get("/healthz", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    response = preflight(client, ALLOWED)
    assert "access-control-allow-origin" not in response.headers


def test_an_allowed_origin_is_echoed(cors_client: TestClient) -> None:
    response = cors_client.get("/healthz", headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


def test_another_origin_gets_no_cors_headers(cors_client: TestClient) -> None:
    response = cors_client.get("/healthz", headers={"Origin": OTHER})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_preflight_allows_get_and_post_with_authorization_and_content_type(
    cors_client: TestClient,
) -> None:
    response = cors_client.options(
        "/v1/transfers",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST"}
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        (OTHER, "POST", "authorization"),
        (ALLOWED, "DELETE", "authorization"),
        (ALLOWED, "POST", "x-custom-header"),
    ],
)
def test_preflight_refuses_other_origins_methods_and_headers(
    cors_client: TestClient, origin: str, method: str, headers: str
) -> None:
    response = preflight(cors_client, origin, method, headers)
    assert response.status_code == 400


def test_edge_refusals_carry_cors_headers_so_browsers_can_read_them(
    edge_client: Callable[..., TestClient],
) -> None:
    client = edge_client(cors_allow_origins=[ALLOWED], max_body_bytes=1024)
    response = client.post("/v1/accounts", content=b"x" * 2048, headers={"Origin": ALLOWED})
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == ALLOWED


# --- the setting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "https://console.example.com, http://localhost:3000",
        '["https://console.example.com", "http://localhost:3000"]',
        "https://Console.Example.com/,http://localhost:3000",
    ],
)
def test_origins_come_from_the_environment_as_a_list_or_json(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("LEDGER_CORS_ALLOW_ORIGINS", raw)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.cors_allow_origins == [ALLOWED, "http://localhost:3000"]


def test_no_origins_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_CORS_ALLOW_ORIGINS", raising=False)
    assert Settings(_env_file=None).cors_allow_origins == []  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "raw", ["*", "https://example.com/app", "example.com", "ftp://example.com", "https://"]
)
def test_wildcards_paths_and_bare_hosts_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError, match="not a CORS origin"):
        Settings(_env_file=None, cors_allow_origins=raw)  # type: ignore[call-arg]
