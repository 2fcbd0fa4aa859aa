"""Token sources: cached until shortly before expiry, Google tokens in both headers."""

from __future__ import annotations

import base64
import json

import httpx
from ledger_client.auth import (
    REFRESH_MARGIN_SECONDS,
    CachedToken,
    NoAuth,
    client_credentials,
    jwt_expiry,
    static_token,
)


def fake_jwt(exp: float) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'exp': exp})}.sig"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_no_auth_sends_nothing() -> None:
    assert NoAuth().headers() == {}


def test_google_style_tokens_go_in_both_headers() -> None:
    source = static_token("tok", serverless_header=True)
    assert source.headers() == {
        "Authorization": "Bearer tok",
        "X-Serverless-Authorization": "Bearer tok",
    }


def test_other_tokens_only_in_authorization() -> None:
    assert static_token("tok").headers() == {"Authorization": "Bearer tok"}


def test_exp_is_read_from_a_jwt() -> None:
    assert jwt_expiry(fake_jwt(1234.0)) == 1234.0
    assert jwt_expiry("not-a-jwt") is None


def test_token_is_reused_until_the_refresh_margin() -> None:
    clock, minted = Clock(), []

    def fetch() -> tuple[str, float | None]:
        minted.append(clock.now)
        return fake_jwt(clock.now + 3600), None

    source = CachedToken(fetch, serverless_header=True, clock=clock)
    source.headers()
    clock.now += 3600 - REFRESH_MARGIN_SECONDS - 1
    source.headers()
    assert len(minted) == 1
    clock.now += 2
    source.headers()
    assert len(minted) == 2


def test_cached_headers_never_fetch() -> None:
    source = CachedToken(lambda: ("tok", None), serverless_header=False, clock=Clock())
    assert source.cached_headers() is None
    source.headers()
    assert source.cached_headers() == {"Authorization": "Bearer tok"}


def test_client_credentials_grant() -> None:
    # A token endpoint of an OIDC provider, not the ledger: a stand-in is fine here.
    seen: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "at-1", "expires_in": 3600})

    http = httpx.Client(transport=httpx.MockTransport(endpoint))
    source = client_credentials(
        token_url="https://idp.test/token",
        client_id="svc",
        client_secret="s3cret",
        scope="ledger.write",
        http=http,
    )
    assert source.headers() == {"Authorization": "Bearer at-1"}
    source.headers()
    assert len(seen) == 1
    form = dict(x.split("=") for x in seen[0].content.decode().split("&"))
    assert form == {"grant_type": "client_credentials", "scope": "ledger.write"}
    assert seen[0].headers["authorization"].startswith("Basic ")
