"""From settings to a principal: the one object per app that holds the key caches.

``create_app`` builds it once (``Authenticator.from_settings``), which also runs
``check_auth_startup`` so that a misconfigured service refuses to start instead of
refusing every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from api.auth.errors import Unauthenticated
from api.auth.keys import Fetch, RemoteKeySet, http_fetch
from api.auth.principal import LOCAL_PRINCIPAL, Principal
from api.auth.scopes import resolve_scopes
from api.auth.verifier import GOOGLE_ISSUERS, TokenVerifier, read_header
from api.config import EMAIL_PREFIX, SUBJECT_PREFIX, Settings

logger = logging.getLogger("api.auth")

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _required(value: str | None, variable: str, mode: str) -> str:
    if not value:
        raise RuntimeError(f"{variable} must be set when LEDGER_AUTH_MODE={mode}")
    return value


def _require_https(url: str, variable: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS):
        return
    raise RuntimeError(f"{variable} must be an https:// URL (got scheme {parts.scheme!r})")


def check_auth_startup(settings: Settings) -> None:
    """Refuse to start with an unsafe or incomplete identity configuration.

    ``none`` is for local runs: deployed (Cloud Run, Cloud Run functions, AWS Lambda)
    it would hand every caller full access, so it is refused there unless explicitly
    allowed with LEDGER_ALLOW_NO_AUTH_ON_CLOUD_RUN (which covers every platform).
    """
    mode = settings.auth_mode
    if mode == "none":
        if settings.deployed_on and not settings.allow_no_auth_on_cloud_run:
            raise RuntimeError(
                f"LEDGER_AUTH_MODE=none is refused on {settings.deployed_on}: every "
                "caller would get read and write access. Use LEDGER_AUTH_MODE=google or "
                "oidc, or set LEDGER_ALLOW_NO_AUTH_ON_CLOUD_RUN=true if this is intended."
            )
        logger.warning(
            "authentication is OFF (LEDGER_AUTH_MODE=none): every request acts as a "
            "local principal with ledger.read and ledger.write"
        )
        return
    _required(settings.auth_audience, "LEDGER_AUTH_AUDIENCE", mode)
    if mode == "oidc":
        _required(settings.oidc_issuer, "LEDGER_OIDC_ISSUER", mode)
        jwks_url = _required(settings.oidc_jwks_url, "LEDGER_OIDC_JWKS_URL", mode)
        _require_https(jwks_url, "LEDGER_OIDC_JWKS_URL")
    else:
        _require_https(settings.google_certs_url, "LEDGER_GOOGLE_CERTS_URL")


class Authenticator:
    """Bearer token in, ``Principal`` out; ``verifier`` None means auth is off."""

    def __init__(
        self,
        *,
        verifier: TokenVerifier | None,
        principal_scopes: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """``principal_scopes`` keys are canonical (``email:...``, ``sub:...``), as
        ``Settings.auth_principal_scopes`` holds them."""
        self.verifier = verifier
        self._principal_scopes = dict(principal_scopes or {})

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.monotonic,
    ) -> Authenticator:
        """Checks the settings (``check_auth_startup``) and builds the verifier."""
        check_auth_startup(settings)
        mode = settings.auth_mode
        if mode == "none":
            return cls(verifier=None)
        audience = _required(settings.auth_audience, "LEDGER_AUTH_AUDIENCE", mode)
        if mode == "oidc":
            url = _required(settings.oidc_jwks_url, "LEDGER_OIDC_JWKS_URL", mode)
            issuers: Iterable[str] = {_required(settings.oidc_issuer, "LEDGER_OIDC_ISSUER", mode)}
        else:
            url, issuers = settings.google_certs_url, GOOGLE_ISSUERS
        verifier = TokenVerifier(
            keys=RemoteKeySet(url, fetch=fetch, clock=clock),
            audience=audience,
            issuers=issuers,
            leeway_seconds=settings.auth_leeway_seconds,
        )
        return cls(verifier=verifier, principal_scopes=settings.auth_principal_scopes)

    @property
    def enabled(self) -> bool:
        return self.verifier is not None

    def needs_io(self, token: str | None) -> bool:
        """Whether authenticating ``token`` may fetch keys (else it is CPU only)."""
        if self.verifier is None or not token:
            return False
        try:
            _, kid = read_header(token)
        except Unauthenticated:
            return False  # rejected before any key lookup
        return not self.verifier.keys.has_fresh_key(kid)

    def authenticate(self, token: str | None) -> Principal:
        """The caller behind ``token`` (None: no bearer token was sent)."""
        if self.verifier is None:
            return LOCAL_PRINCIPAL
        if not token:
            raise Unauthenticated()
        try:
            claims = self.verifier.verify(token)
        except Unauthenticated as exc:
            logger.info("bearer token rejected: %s", exc.reason)
            raise
        return self._principal(claims)

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        subject, issuer = claims.get("sub"), claims.get("iss")
        if not isinstance(subject, str) or not subject or not isinstance(issuer, str):
            raise Unauthenticated("malformed token")
        email = claims.get("email")
        # Only the JSON boolean true (OIDC Core 5.1) vouches for an email: a missing
        # claim, or a string "true" from an issuer that does not follow the spec, names
        # nobody - such callers are mapped by subject instead.
        if not isinstance(email, str) or not email or claims.get("email_verified") is not True:
            email = None
        keys = [SUBJECT_PREFIX + subject]
        if email:
            keys.insert(0, EMAIL_PREFIX + email)
        scopes = resolve_scopes(
            claims, principal_keys=keys, principal_scopes=self._principal_scopes
        )
        return Principal(subject=subject, email=email, issuer=issuer, scopes=scopes)
