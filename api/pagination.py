"""Opaque keyset page tokens, every one signed and bound to the query it pages through.

The key is LEDGER_PAGE_TOKEN_SECRET, the same in every instance. Without it a process
makes a random key of its own (tokens then page only within that process), and a
deployed service refuses to start: a key anyone could derive would let anyone forge a
position, and an unsigned one would let a caller page through rows of another query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from api.config import Settings
from api.errors import ValidationFailed
from api.ids import INT64_MAX

# Shorter secrets are the kind people type; random ones of this length are unguessable.
MIN_SECRET_CHARS = 32


class InvalidPageToken(ValidationFailed):
    code = "invalid_page_token"
    title = "Page token is not valid for this query"


def _storable(value: Any) -> bool:
    """A value Spanner can take as a query parameter (an INT64, a UTF-8 string): even a
    validly signed position is checked, so a bug issuing one is a 422, never a 500."""
    if isinstance(value, int):
        return -INT64_MAX - 1 <= value <= INT64_MAX
    if isinstance(value, str):
        # json.loads turns "\ud800" into a lone surrogate, which has no UTF-8 form.
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
    return True


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


class TokenSigner:
    """Tokens of the form payload.mac: the payload names the query (a hash of its
    filters) and the position; the MAC makes both unforgeable. A token of another query,
    altered, or forged is an ``InvalidPageToken`` (422), never a 500 or rows the query
    does not select."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]

    def sign(self, query: str, *position: Any) -> str:
        payload = json.dumps([query, list(position)], separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def open(self, token: str, query: str, *, types: tuple[type, ...]) -> list[Any]:
        try:
            encoded, _, mac = token.partition(".")
            payload = _unb64(encoded)
            valid = hmac.compare_digest(self._mac(payload), _unb64(mac))
            name, position = json.loads(payload) if valid else (None, None)
        except (ValueError, binascii.Error, UnicodeDecodeError, TypeError):
            name, position = None, None
        if name != query or not isinstance(position, list) or len(position) != len(types):
            raise InvalidPageToken("page_token was not issued for this query.")
        if not all(type(v) is t and _storable(v) for v, t in zip(position, types, strict=True)):
            raise InvalidPageToken("page_token was not issued for this query.")
        return position


def page_token_key(settings: Settings) -> bytes:
    """The signing key; refuses (at start-up) a deployed service without a real one."""
    secret = settings.page_token_secret
    if secret is not None:
        value = secret.get_secret_value()
        if len(value) < MIN_SECRET_CHARS:
            raise RuntimeError(
                f"LEDGER_PAGE_TOKEN_SECRET must be at least {MIN_SECRET_CHARS} characters "
                "(a random string, the same in every instance)."
            )
        return value.encode()
    if settings.deployed_on:
        raise RuntimeError(
            f"LEDGER_PAGE_TOKEN_SECRET is required on {settings.deployed_on}: page tokens "
            "are signed with it, the same in every instance (e.g. from Secret Manager)."
        )
    return secrets.token_bytes(32)


def query_name(**filters: Any) -> str:
    """A short, stable name of a query's filters, for binding tokens to it."""
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest()[:12])
