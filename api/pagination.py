"""Opaque keyset page tokens: base64url of a small JSON list of key values."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from api.errors import ValidationFailed


def encode_token(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, *, types: tuple[type, ...]) -> list[Any]:
    """Decode a token made by ``encode_token``; its values must have ``types``."""
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(type(v) is t for v, t in zip(values, types, strict=True))
    ):
        raise ValidationFailed("page_token is not a token this API issued.")
    return values
