"""Auth test kit: real keys, a real key server over HTTP, real signed tokens.

- ``key_server``: an ``http.server`` on 127.0.0.1 (free port, own thread) serving
  whatever documents a test puts at a path, with the headers it chooses, and
  counting every fetch;
- ``rsa_signer`` / ``rsa_signer_2`` / ``ec_signer``: private keys with a kid, whose
  public half is published as a JWK or as a self-signed x509 certificate (Google's
  v1 format);
- ``kit``: mints tokens with valid claims of the test issuer (any of which a test
  overrides; ``None`` drops it), publishes keys, counts fetches, and builds
  authenticators whose key caches run on a hand-advanced clock - no sleeps.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from api.auth import Authenticator
from api.config import Settings
from tests.support import FakeClock

ISSUER = "https://issuer.test"
AUDIENCE = "https://ledger.test"
JWKS_PATH = "/jwks"
CERTS_PATH = "/certs"


# --- the key server ------------------------------------------------------------


@dataclass
class _Document:
    body: bytes
    headers: dict[str, str]
    status: int = 200


@dataclass
class KeyServer:
    """Serves documents over real HTTP and counts the GETs of each path."""

    base_url: str = ""
    documents: dict[str, _Document] = field(default_factory=dict)
    fetch_counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def publish(
        self,
        path: str,
        body: object,
        *,
        cache_control: str | None = "public, max-age=300",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if cache_control is not None:
            all_headers["Cache-Control"] = cache_control
        with self.lock:
            self.documents[path] = _Document(json.dumps(body).encode(), all_headers, status)

    def fetches(self, path: str) -> int:
        with self.lock:
            return self.fetch_counts.get(path, 0)


def _handler_for(server: KeyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with server.lock:
                server.fetch_counts[self.path] = server.fetch_counts.get(self.path, 0) + 1
                document = server.documents.get(self.path)
            if document is None:
                document = _Document(b'{"error": "not found"}', {}, 404)
            self.send_response(document.status)
            for name, value in document.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(document.body)))
            self.end_headers()
            self.wfile.write(document.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(server))
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    server.base_url = f"http://{host!s}:{port}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="key-server", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# --- keys and tokens -------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """A private key with its kid and algorithm; publishes its public half."""

    kid: str
    algorithm: str
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def jwk(self) -> dict[str, Any]:
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            data = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def certificate_pem(self) -> str:
        """A self-signed x509 certificate, as Google publishes its keys (v1 certs)."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test.example")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(self.private_key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def with_kid(self, kid: str) -> Signer:
        return Signer(kid=kid, algorithm=self.algorithm, private_key=self.private_key)


@pytest.fixture(scope="session")
def rsa_signer() -> Signer:
    return Signer("rsa-1", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def rsa_signer_2() -> Signer:
    """A second, different RSA key: the rotated-to key, or a forger's key."""
    return Signer("rsa-2", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def ec_signer() -> Signer:
    return Signer("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1()))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class AuthKit:
    """What an auth test needs, bound to this test's key server and clock."""

    server: KeyServer
    clock: FakeClock
    issuer: str = ISSUER
    audience: str = AUDIENCE

    # tokens

    def claims(self, *, issuer: str | None = None, **overrides: Any) -> dict[str, Any]:
        """Valid claims for the test issuer; an override of None drops the claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "aud": self.audience,
            "sub": "subject-123",
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self,
        signer: Signer,
        *,
        issuer: str | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token signed by ``signer`` with valid claims, changed by ``claims``."""
        return jwt.encode(
            self.claims(issuer=issuer, **claims),
            signer.private_key,
            algorithm=signer.algorithm,
            headers={"kid": signer.kid, **(headers or {})},
        )

    b64 = staticmethod(b64)

    @staticmethod
    def forge(
        header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]
    ) -> str:
        """A token assembled by hand, for what PyJWT refuses to produce."""
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        return f"{signing_input}.{b64(sign(signing_input.encode()))}"

    # published keys

    def publish_jwks(self, *signers: Signer, **options: Any) -> None:
        self.server.publish(JWKS_PATH, {"keys": [s.jwk() for s in signers]}, **options)

    def publish_certs(self, *signers: Signer, **options: Any) -> None:
        """Google's v1 format: ``{kid: x509 certificate PEM}``."""
        body = {signer.kid: signer.certificate_pem() for signer in signers}
        self.server.publish(CERTS_PATH, body, **options)

    @property
    def jwks_fetches(self) -> int:
        return self.server.fetches(JWKS_PATH)

    @property
    def certs_fetches(self) -> int:
        return self.server.fetches(CERTS_PATH)

    # settings and authenticators

    def settings(self, **overrides: Any) -> Settings:
        """Every identity field explicit: never the developer's environment or .env."""
        values: dict[str, Any] = {
            "auth_mode": "oidc",
            "allow_no_auth_on_cloud_run": False,
            "auth_audience": self.audience,
            "oidc_issuer": self.issuer,
            "oidc_jwks_url": self.server.url(JWKS_PATH),
            "google_certs_url": self.server.url(CERTS_PATH),
            "auth_leeway_seconds": 30,
            "auth_principal_scopes": {},
            "K_SERVICE": None,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    def oidc(self, **overrides: Any) -> Authenticator:
        return Authenticator.from_settings(self.settings(**overrides), clock=self.clock)

    def google(self, **overrides: Any) -> Authenticator:
        settings = self.settings(auth_mode="google", **overrides)
        return Authenticator.from_settings(settings, clock=self.clock)


@pytest.fixture
def kit(key_server: KeyServer) -> AuthKit:
    return AuthKit(server=key_server, clock=FakeClock())
