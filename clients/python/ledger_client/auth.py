"""Who the client is: bearer tokens, cached and refreshed before they expire.

Behind Cloud Run the same Google-signed ID token goes in two headers: Cloud Run's
front end checks (and strips) ``X-Serverless-Authorization``, and passes
``Authorization`` on to the ledger, whose middleware verifies it itself
(api/auth/middleware.py). A caller sending only ``Authorization`` gets through Cloud
Run, which then consumes it, and the ledger answers 401. Tokens that are not Google's
(an OIDC client-credentials token) go in ``Authorization`` only: Cloud Run's IAM check
would refuse them.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Protocol

import httpx

# Refresh this long before a token's expiry, so none expires in flight.
REFRESH_MARGIN_SECONDS = 300.0
# When a token's lifetime cannot be read, keep it this long.
DEFAULT_LIFETIME_SECONDS = 600.0


class TokenSource(Protocol):
    def headers(self) -> dict[str, str]:
        """The authentication headers of the next request; may block to refresh."""
        ...

    def cached_headers(self) -> dict[str, str] | None:
        """The headers if no refresh is due (never blocks), else None."""
        ...


class NoAuth:
    """The service runs with LEDGER_AUTH_MODE=none (``make run``): send nothing."""

    def headers(self) -> dict[str, str]:
        return {}

    def cached_headers(self) -> dict[str, str] | None:
        return {}


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it (the service verifies)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
    except (IndexError, ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) else None


class CachedToken:
    """A token fetched by ``fetch`` (token, expiry as a Unix time or None), reused until
    ``REFRESH_MARGIN_SECONDS`` before it expires. Thread-safe: one refresh at a time."""

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float | None]],
        *,
        serverless_header: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetch = fetch
        self._serverless = serverless_header
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def _headers_for(self, token: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}"}
        if self._serverless:
            headers["X-Serverless-Authorization"] = f"Bearer {token}"
        return headers

    def cached_headers(self) -> dict[str, str] | None:
        token = self._token
        if token is None or self._clock() >= self._refresh_at:
            return None
        return self._headers_for(token)

    def headers(self) -> dict[str, str]:
        with self._lock:
            cached = self.cached_headers()
            if cached is not None:
                return cached
            token, expiry = self.fetch()
            expiry = expiry or jwt_expiry(token) or self._clock() + DEFAULT_LIFETIME_SECONDS
            lifetime = expiry - self._clock()
            # A short-lived token is refreshed halfway, not after it expired.
            self._refresh_at = self._clock() + max(lifetime - REFRESH_MARGIN_SECONDS, lifetime / 2)
            self._token = token
            return self._headers_for(token)

    def invalidate(self) -> None:
        with self._lock:
            self._token = None


def static_token(token: str, *, serverless_header: bool = False) -> CachedToken:
    """A token you already have (tests, a token minted elsewhere)."""
    return CachedToken(lambda: (token, None), serverless_header=serverless_header)


def token_callback(callback: Callable[[], str], *, serverless_header: bool = False) -> CachedToken:
    """Your own function returns a token; it is called again shortly before the token's
    ``exp`` (if it is a JWT) or every ``DEFAULT_LIFETIME_SECONDS``."""
    return CachedToken(lambda: (callback(), None), serverless_header=serverless_header)


def google_id_token(audience: str, *, key_file: str | None = None) -> CachedToken:
    """Google-signed ID tokens for ``audience`` (the service URL, or its configured
    LEDGER_AUTH_AUDIENCE), sent in both headers.

    Without ``key_file``: the metadata server (Cloud Run, GCE, GKE workload identity) or
    the service account ADC points at (``google.oauth2.id_token.fetch_id_token``). A
    service-account key file only when you name one. Needs the ``google`` extra.
    """

    def fetch() -> tuple[str, float | None]:
        import google.auth.transport.requests  # noqa: PLC0415 - optional dependency
        from google.oauth2 import id_token, service_account  # noqa: PLC0415

        request = google.auth.transport.requests.Request()
        if key_file is None:
            return id_token.fetch_id_token(request, audience), None
        credentials = service_account.IDTokenCredentials.from_service_account_file(
            key_file, target_audience=audience
        )
        credentials.refresh(request)
        return str(credentials.token), None

    return CachedToken(fetch, serverless_header=True)


def gcloud_id_token(audience: str | None = None) -> CachedToken:
    """The caller's gcloud identity (``gcloud auth print-identity-token``): for people at
    a terminal. ``audience`` only works for service-account identities (gcloud refuses
    it for user accounts)."""

    def fetch() -> tuple[str, float | None]:
        gcloud = shutil.which("gcloud")
        if gcloud is None:
            raise RuntimeError("gcloud is not on PATH")
        argv = [gcloud, "auth", "print-identity-token"]
        if audience:
            argv.append(f"--audiences={audience}")
        out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)  # noqa: S603
        return out.stdout.strip(), None

    return CachedToken(fetch, serverless_header=True)


def client_credentials(
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    scope: str | None = None,
    audience: str | None = None,
    http: httpx.Client | None = None,
) -> CachedToken:
    """An OIDC/OAuth 2.0 client-credentials grant (RFC 6749 4.4) at ``token_url``, for a
    service that verifies tokens of its own issuer (LEDGER_AUTH_MODE=oidc)."""

    def fetch() -> tuple[str, float | None]:
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        if audience:
            form["audience"] = audience
        client = http or httpx.Client(timeout=10)
        try:
            response = client.post(token_url, data=form, auth=(client_id, client_secret))
        finally:
            if http is None:
                client.close()
        response.raise_for_status()
        body = response.json()
        token = body["access_token"]
        expires_in = body.get("expires_in")
        expiry = time.time() + float(expires_in) if expires_in else None
        return str(token), expiry

    return CachedToken(fetch, serverless_header=False)
