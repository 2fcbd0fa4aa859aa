"""The FastAPI side: the middleware and the scope check (``authorized``) on the smallest
app that uses them."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from api.auth import AuthenticationMiddleware, Authenticator
from api.context import RequestRecord, open_record
from api.errors import PROBLEM_CONTENT_TYPE, LedgerError
from tests.auth.scoped import ReaderDep, WriterDep


class LedgerApp:
    """A GET that needs ledger.read and a POST that needs ledger.write."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.records: list[RequestRecord] = []
        app = FastAPI()
        app.state.authenticator = authenticator
        app.add_middleware(AuthenticationMiddleware, prefix="/things")

        @app.middleware("http")
        async def request_scope(request: Request, call_next):
            self.records.append(open_record(request.scope, 10.0))
            return await call_next(request)

        @app.exception_handler(LedgerError)
        async def ledger_error(request: Request, exc: Exception) -> JSONResponse:
            assert isinstance(exc, LedgerError)
            return JSONResponse(
                exc.to_problem(instance=request.url.path).model_dump(exclude_none=True),
                status_code=exc.status,
                headers=exc.headers,
                media_type=PROBLEM_CONTENT_TYPE,
            )

        @app.get("/things")
        def read_things(principal: ReaderDep) -> dict[str, str]:
            return {"principal": principal.name}

        @app.post("/things", status_code=201)
        def write_thing(principal: WriterDep) -> dict[str, str]:
            return {"principal": principal.name}

        self.app = app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ledger(kit, rsa_signer) -> Iterator[tuple[LedgerApp, TestClient]]:
    kit.publish_jwks(rsa_signer)
    app = LedgerApp(kit.oidc())
    with TestClient(app.app) as client:
        yield app, client


@pytest.fixture
def client(ledger) -> TestClient:
    return ledger[1]


def test_reader_token_can_get(kit, client, rsa_signer):
    response = client.get("/things", headers=bearer(kit.mint(rsa_signer, scope="ledger.read")))
    assert response.status_code == 200
    assert response.json() == {"principal": "sub:subject-123"}


def test_writer_token_can_post(kit, client, rsa_signer):
    response = client.post("/things", headers=bearer(kit.mint(rsa_signer, scope="ledger.write")))
    assert response.status_code == 201


def test_write_scope_implies_read(kit, client, rsa_signer):
    response = client.get("/things", headers=bearer(kit.mint(rsa_signer, scope="ledger.write")))
    assert response.status_code == 200


def test_scp_list_form_is_understood(kit, client, rsa_signer):
    token = kit.mint(rsa_signer, scp=["openid", "ledger.write"])
    assert client.post("/things", headers=bearer(token)).status_code == 201


def test_reader_token_cannot_post(kit, client, rsa_signer):
    token = kit.mint(rsa_signer, scope="openid ledger.read")
    response = client.post("/things", headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "forbidden"
    assert "ledger.write" in response.json()["detail"]
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="ledger.write"'
    )


def test_token_without_ledger_scopes_cannot_get(kit, client, rsa_signer):
    response = client.get("/things", headers=bearer(kit.mint(rsa_signer, scope="openid")))
    assert response.status_code == 403


def test_missing_authorization_is_401_with_bare_challenge(client):
    response = client.get("/things")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer "])
def test_non_bearer_authorization_counts_as_missing(client, authorization):
    response = client.get("/things", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "one two"])
def test_malformed_token_is_401_invalid_token(client, token):
    response = client.get("/things", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="malformed token"'
    )


def test_scheme_name_is_case_insensitive(kit, client, rsa_signer):
    token = kit.mint(rsa_signer, scope="ledger.read")
    response = client.get("/things", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


def _expired(kit, signer):
    now = int(time.time())
    return kit.mint(signer, iat=now - 900, exp=now - 600)


def _hs256_with_public_key(kit, signer):
    secret = signer.public_pem()
    return kit.forge(
        {"alg": "HS256", "typ": "JWT", "kid": signer.kid},
        kit.claims(scope="ledger.write"),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )


REJECTED = {
    "token expired": _expired,
    "token not yet valid": lambda kit, s: kit.mint(s, nbf=int(time.time()) + 600),
    "wrong audience": lambda kit, s: kit.mint(s, aud="https://elsewhere.test"),
    "wrong issuer": lambda kit, s: kit.mint(s, issuer="https://evil.test"),
    "unsupported algorithm": lambda kit, s: kit.forge(
        {"alg": "none", "kid": s.kid}, kit.claims(scope="ledger.write"), lambda _: b""
    ),
    "unknown signing key": lambda kit, s: kit.mint(s.with_kid("not-published")),
}


@pytest.mark.parametrize("description", sorted(REJECTED))
def test_rejected_token_is_401_with_its_reason(kit, client, rsa_signer, description):
    token = REJECTED[description](kit, rsa_signer)
    response = client.post("/things", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", error_description="{description}"'
    )


def test_hs256_signed_with_the_public_key_is_401(kit, client, rsa_signer):
    response = client.post("/things", headers=bearer(_hs256_with_public_key(kit, rsa_signer)))
    assert response.status_code == 401
    assert "unsupported algorithm" in response.headers["www-authenticate"]


def test_forged_signature_is_401(kit, client, rsa_signer, rsa_signer_2):
    token = kit.mint(rsa_signer_2.with_kid(rsa_signer.kid), scope="ledger.write")
    response = client.post("/things", headers=bearer(token))
    assert response.status_code == 401
    assert "invalid signature" in response.headers["www-authenticate"]


def test_rejection_does_not_echo_the_token(kit, client, rsa_signer):
    token = kit.mint(rsa_signer, aud="https://elsewhere.test")
    response = client.get("/things", headers=bearer(token))
    assert token not in response.text
    assert all(token not in value for value in response.headers.values())


def test_request_scope_names_the_principal(kit, ledger, rsa_signer):
    app, client = ledger
    token = kit.mint(rsa_signer, scope="ledger.read", email="svc@example.com", email_verified=True)
    client.get("/things", headers=bearer(token))
    assert app.records[-1].principal == "svc@example.com"


def test_unreachable_keys_are_503_with_retry_after(kit, rsa_signer):
    kit.server.publish("/jwks", {"error": "down"}, status=502)
    with TestClient(LedgerApp(kit.oidc()).app) as client:
        response = client.get("/things", headers=bearer(kit.mint(rsa_signer)))
    assert response.status_code == 503
    assert response.json()["code"] == "backend_unavailable"
    assert response.headers["retry-after"] == "5"


def test_google_mode_scopes_from_principal_mapping(kit, rsa_signer):
    kit.publish_certs(rsa_signer)
    authenticator = kit.google(auth_principal_scopes={"svc@example.com": ["ledger.write"]})
    token = kit.mint(
        rsa_signer,
        issuer="https://accounts.google.com",
        email="svc@example.com",
        email_verified=True,
    )
    with TestClient(LedgerApp(authenticator).app) as client:
        response = client.post("/things", headers=bearer(token))
    assert response.status_code == 201
    assert response.json() == {"principal": "svc@example.com"}


def test_none_mode_lets_every_request_in_as_local(kit):
    authenticator = kit.oidc(auth_mode="none")
    with TestClient(LedgerApp(authenticator).app) as client:
        assert client.get("/things").json() == {"principal": "sub:local"}
        assert client.post("/things").status_code == 201
