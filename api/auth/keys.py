"""Signing keys published by an identity provider, fetched once and cached.

One ``RemoteKeySet`` per URL, shared by every request of the worker:

- the document is fetched on first use and kept for as long as its HTTP cache headers
  say (``Cache-Control: max-age`` minus ``Age``, else ``Expires``), clamped to a sane
  minimum and maximum - never one fetch per request;
- a token whose ``kid`` is not in the cached set triggers one early refetch (the
  provider may have rotated its keys), but at most one per cooldown period, however
  many requests carry unknown kids - a flood of made-up kids cannot make us hammer
  the provider;
- when a refetch fails, the previous keys stay in use and the next attempt waits a
  few seconds; with no keys at all, callers get a 503, not a 401.

Two document formats are understood: a JWK Set (``{"keys": [...]}``, any OIDC
provider and Google's v3 endpoint) and Google's v1 format (``{kid: x509 PEM}``).
Only RSA and EC public keys are kept: a symmetric (``oct``) key is never accepted.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, TypeGuard

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.auth.errors import SigningKeysUnavailable

logger = logging.getLogger("api.auth")

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
# Asymmetric only: never HS* (the public key would become an HMAC secret), never none.
ALLOWED_ALGORITHMS = RSA_ALGORITHMS | frozenset(EC_ALGORITHMS.values())
MIN_RSA_BITS = 2048

FETCH_TIMEOUT_SECONDS = 5.0


class KeyFetchError(Exception):
    """The key document could not be fetched or holds no usable key."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str | None
    key: PublicKey
    algorithms: frozenset[str]  # what this key may verify; never empty


@dataclass(frozen=True, slots=True)
class KeyDocument:
    body: Any  # parsed JSON
    headers: Mapping[str, str]  # lower-cased names


Fetch = Callable[[str], KeyDocument]


def http_fetch(url: str) -> KeyDocument:
    """GET ``url`` and parse it as JSON; any failure is a ``KeyFetchError``."""
    try:
        response = requests.get(
            url, timeout=FETCH_TIMEOUT_SECONDS, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        body = response.json()
    except requests.RequestException as exc:
        raise KeyFetchError(f"request failed ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise KeyFetchError("response is not JSON") from exc
    return KeyDocument(
        body=body, headers={name.lower(): value for name, value in response.headers.items()}
    )


# --- parsing -------------------------------------------------------------------


def _algorithms_for(key: PublicKey, declared: object = None) -> frozenset[str]:
    if isinstance(key, rsa.RSAPublicKey):
        possible = RSA_ALGORITHMS if key.key_size >= MIN_RSA_BITS else frozenset()
    else:
        curve_alg = EC_ALGORITHMS.get(key.curve.name)
        possible = frozenset({curve_alg}) if curve_alg else frozenset()
    if declared is None:
        return possible
    return possible & {declared} if isinstance(declared, str) else frozenset()


def _public(key: object) -> PublicKey | None:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        key = key.public_key()  # a provider publishing private parts: use only the public
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return key
    return None


def _is_signing_jwk(jwk: object) -> TypeGuard[dict[str, Any]]:
    """An RSA or EC key meant for verifying signatures, with a well-formed kid."""
    if not isinstance(jwk, dict) or jwk.get("kty") not in ("RSA", "EC"):
        return False
    key_ops = jwk.get("key_ops")
    return (
        jwk.get("use", "sig") == "sig"
        and (key_ops is None or (isinstance(key_ops, list) and "verify" in key_ops))
        and isinstance(jwk.get("kid", ""), str)
    )


def _from_jwk(jwk: object) -> SigningKey | None:
    if not _is_signing_jwk(jwk):
        return None
    try:
        key = _public(jwt.PyJWK(jwk).key)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    if key is None:
        return None
    algorithms = _algorithms_for(key, jwk.get("alg"))
    return SigningKey(kid=jwk.get("kid"), key=key, algorithms=algorithms) if algorithms else None


def _from_pem_certificate(kid: str, pem: object) -> SigningKey | None:
    if not isinstance(pem, str):
        return None
    try:
        key = _public(x509.load_pem_x509_certificate(pem.encode()).public_key())
    except ValueError:
        return None
    if key is None:
        return None
    algorithms = _algorithms_for(key)
    return SigningKey(kid=kid, key=key, algorithms=algorithms) if algorithms else None


def parse_key_document(body: object) -> tuple[SigningKey, ...]:
    """The usable keys of a JWK Set or of a ``{kid: x509 PEM}`` document."""
    if not isinstance(body, dict):
        raise KeyFetchError("key document is not a JSON object")
    if "keys" in body:
        entries = body["keys"] if isinstance(body["keys"], list) else []
        found = [_from_jwk(jwk) for jwk in entries]
    else:
        found = [_from_pem_certificate(kid, pem) for kid, pem in body.items()]
    keys = tuple(key for key in found if key is not None)
    if not keys:
        raise KeyFetchError("key document holds no usable signing key")
    return keys


# --- HTTP caching --------------------------------------------------------------


def _parse_http_date(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def cache_lifetime(headers: Mapping[str, str], *, wall_now: float) -> float | None:
    """Seconds the response may be reused per its headers; None if they don't say."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.partition("=")
        if name.strip():
            directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    if "max-age" in directives:
        try:
            max_age = int(directives["max-age"])
            age = int(headers.get("age", "0"))
        except ValueError:
            return 0.0
        return float(max_age - max(age, 0))
    if "expires" in headers:
        expires = _parse_http_date(headers["expires"])
        if expires is None:
            return 0.0  # RFC 9111: an invalid Expires means already expired
        date = _parse_http_date(headers.get("date"))
        return expires - (date if date is not None else wall_now)
    return None


# --- the cache -------------------------------------------------------------------


class RemoteKeySet:
    """The signing keys published at one URL; thread-safe, one per worker."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.monotonic,
        min_ttl: float = 60.0,
        max_ttl: float = 24 * 3600.0,
        default_ttl: float = 300.0,
        cooldown: float = 30.0,
        retry_after_failure: float = 5.0,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self._min_ttl = min_ttl
        self._max_ttl = max_ttl
        self._default_ttl = default_ttl
        self._cooldown = cooldown
        self._retry_after_failure = retry_after_failure
        self._lock = threading.Lock()
        # Replaced whole, never mutated: readers outside the lock see a consistent set.
        self._keys: tuple[SigningKey, ...] = ()
        self._fresh_until = -math.inf
        self._last_attempt = -math.inf
        self._last_failed = False

    def key_for(self, kid: str | None) -> SigningKey | None:
        """The key for ``kid`` (a kid-less token matches only a single-key set), or
        None when the provider does not publish it even after a refetch.

        Raises ``SigningKeysUnavailable`` when no keys could ever be fetched.
        """
        if self._clock() >= self._fresh_until:
            self._refresh(unknown_kid=False)
        key = _select(self._keys, kid)
        if key is None:
            self._refresh(unknown_kid=True)
            key = _select(self._keys, kid)
        return key

    def has_fresh_key(self, kid: str | None) -> bool:
        """True when ``key_for(kid)`` would answer from the cache, without a fetch."""
        return self._clock() < self._fresh_until and _select(self._keys, kid) is not None

    def _refresh(self, *, unknown_kid: bool) -> None:
        with self._lock:
            now = self._clock()
            since_attempt = now - self._last_attempt
            if unknown_kid:
                # Whoever fetched within the cooldown (maybe a thread we waited on)
                # already has the newest keys; do not fetch again.
                if since_attempt < self._cooldown:
                    return
            else:
                if now < self._fresh_until:
                    return  # refreshed by another thread while we waited
                if self._last_failed and since_attempt < self._retry_after_failure:
                    if self._keys:
                        return  # serve the stale keys until the next attempt
                    raise SigningKeysUnavailable
            self._last_attempt = now
            try:
                document = self._fetch(self.url)
                keys = parse_key_document(document.body)
            except KeyFetchError as exc:
                self._last_failed = True
                logger.warning("could not fetch signing keys from %s: %s", self.url, exc)
                if self._keys or unknown_kid:
                    return
                raise SigningKeysUnavailable from exc
            lifetime = cache_lifetime(document.headers, wall_now=time.time())
            ttl = self._default_ttl if lifetime is None else lifetime
            ttl = min(max(ttl, self._min_ttl), self._max_ttl)
            self._keys = keys
            self._fresh_until = now + ttl
            self._last_failed = False
            logger.info("fetched %d signing keys from %s, cached for %ds", len(keys), self.url, ttl)


def _select(keys: tuple[SigningKey, ...], kid: str | None) -> SigningKey | None:
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((key for key in keys if key.kid == kid), None)
