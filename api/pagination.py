"""Opaque keyset page tokens: base64url of a small JSON list of key values; for
queries, signed and bound to the query they page through."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from api.errors import ValidationFailed
from api.ids import INT64_MAX


class InvalidPageToken(ValidationFailed):
    code = "invalid_page_token"
    title = "Page token is not valid for this query"


def encode_token(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, *, types: tuple[type, ...]) -> list[Any]:
    """Decode a token made by ``encode_token``; its values must have ``types``.

    A token is the caller's input: every value is checked to be one Spanner can take as a
    query parameter (an INT64, a UTF-8 string), so a forged token is a 422, never a 500.
    """
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(type(v) is t and _storable(v) for v, t in zip(values, types, strict=True))
    ):
        raise InvalidPageToken("page_token is not a token this API issued.")
    return values


def _storable(value: Any) -> bool:
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


def query_name(**filters: Any) -> str:
    """A short, stable name of a query's filters, for binding tokens to it."""
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest()[:12])
