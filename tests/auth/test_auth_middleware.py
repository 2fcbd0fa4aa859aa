"""Authentication runs before the body is read: a caller without a valid token costs
a header parse and a signature check, never a parsed multi-megabyte JSON body."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Authenticator, Principal
from api.auth.middleware import AuthenticationMiddleware
from api.errors import PROBLEM_CONTENT_TYPE
from tests.auth.scoped import ReaderDep, WriterDep

BODY = json.dumps({"transfers": [{"id": "t"}] * 1000, "atomic": True}).encode()


class Recorded:
    """What an ASGI call did: whether it pulled the body, and what it answered."""

    def __init__(self) -> None:
        self.body_read = False
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""


def call(app: Any, method: str, path: str, headers: dict[str, str] | None = None) -> Recorded:
    """One request straight through ASGI, with a receive() that records being called."""
    recorded = Recorded()
    raw_headers = [(b"content-type", b"application/json")]
    raw_headers.append((b"content-length", str(len(BODY)).encode()))
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        recorded.body_read = True
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            recorded.status = message["status"]
            recorded.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            recorded.body += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return recorded


@pytest.fixture
def real_app(kit, rsa_signer) -> FastAPI:
    """The real app with OIDC authentication; no lifespan, so no Spanner at all."""
    kit.publish_jwks(rsa_signer)
    return create_app(kit.settings(gc_gen0_threshold=0), configure_logs=False)


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, "Bearer"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer"),
        (
            {"Authorization": "Bearer not-a-jwt"},
            'Bearer error="invalid_token", error_description="malformed token"',
        ),
    ],
    ids=["no token", "not bearer", "malformed"],
)
@pytest.mark.parametrize(
    "path", ["/v1/transfers:batch", "/v1/transfers", "/v1/accounts", "/v1/no-such-route"]
)
def test_an_unauthenticated_request_is_refused_before_its_body_is_read(
    real_app, headers, challenge, path
):
    recorded = call(real_app, "POST", path, headers)
    assert recorded.status == 401
    assert not recorded.body_read
    assert recorded.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert recorded.headers["www-authenticate"] == challenge
    problem = json.loads(recorded.body)
    assert problem["code"] == "unauthenticated"
    assert problem["instance"] == path


def test_a_forged_signature_is_refused_before_the_body_is_read(
    real_app, kit, rsa_signer, rsa_signer_2
):
    token = kit.mint(rsa_signer_2.with_kid(rsa_signer.kid), scope="ledger.write")
    recorded = call(real_app, "POST", "/v1/transfers", {"Authorization": f"Bearer {token}"})
    assert recorded.status == 401
    assert not recorded.body_read


def test_the_401_of_the_real_app_is_the_documented_problem(real_app):
    response = TestClient(real_app).get("/v1/accounts/acct-1")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "type": "https://spanner-ledger.dev/problems/unauthenticated",
        "title": "Authentication required",
        "status": 401,
        "detail": "A bearer token is required.",
        "code": "unauthenticated",
        "instance": "/v1/accounts/acct-1",
    }


@pytest.mark.parametrize("path", ["/healthz", "/docs", "/openapi.json", "/docs/oauth2-redirect"])
def test_health_and_docs_need_no_token(real_app, path):
    assert TestClient(real_app).get(path).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/openapi.json", "/v1x", "/"])
def test_only_v1_paths_are_authenticated(path):
    reached: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    recorded = call(AuthenticationMiddleware(inner), "GET", path)
    assert (recorded.status, reached) == (204, [path])


# --- on the smallest app that uses it ---------------------------------------------------


class Counting(Authenticator):
    """The kit's real authenticator, recording each call and the thread it ran on."""

    def __init__(self, inner: Authenticator) -> None:
        super().__init__(verifier=inner.verifier)
        self.inner = inner
        self.threads: list[int] = []

    def authenticate(self, token: str | None) -> Principal:
        self.threads.append(threading.get_ident())
        return self.inner.authenticate(token)


def small_app(authenticator: Authenticator | None) -> tuple[FastAPI, list[int]]:
    loop_threads: list[int] = []
    app = FastAPI()
    app.add_middleware(AuthenticationMiddleware)
    if authenticator is not None:
        app.state.authenticator = authenticator

    @app.get("/v1/things")
    async def read_things(principal: ReaderDep) -> dict[str, str]:
        loop_threads.append(threading.get_ident())
        return {"principal": principal.name}

    @app.post("/v1/things")
    async def write_thing(principal: WriterDep) -> dict[str, str]:
        return {"principal": principal.name}

    return app, loop_threads


def test_the_token_is_verified_once_per_request(kit, rsa_signer):
    kit.publish_jwks(rsa_signer)
    authenticator = Counting(kit.oidc())
    app, _ = small_app(authenticator)
    token = kit.mint(rsa_signer, scope="ledger.write")
    with TestClient(app) as client:
        assert client.get("/v1/things", headers={"Authorization": f"Bearer {token}"}).is_success
        assert client.post("/v1/things", headers={"Authorization": f"Bearer {token}"}).is_success
    assert len(authenticator.threads) == 2


def test_a_key_fetch_runs_in_the_threadpool_and_a_cached_check_on_the_loop(kit, rsa_signer):
    kit.publish_jwks(rsa_signer)
    authenticator = Counting(kit.oidc())
    app, loop_threads = small_app(authenticator)
    headers = {"Authorization": f"Bearer {kit.mint(rsa_signer, scope='ledger.read')}"}
    with TestClient(app) as client:
        assert client.get("/v1/things", headers=headers).is_success  # cold: fetches keys
        assert client.get("/v1/things", headers=headers).is_success  # cached
    fetching, cached = authenticator.threads
    assert fetching != loop_threads[0]
    assert cached == loop_threads[1]
    assert kit.jwks_fetches == 1


def test_a_route_outside_the_middleware_fails_closed(kit):
    app = FastAPI()

    @app.get("/things")
    def read_things(principal: ReaderDep) -> dict[str, str]:
        return {"principal": principal.name}

    app.state.authenticator = kit.oidc(auth_mode="none")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/things").status_code == 500


def test_missing_authenticator_fails_closed():
    app, _ = small_app(None)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/v1/things").status_code == 500
