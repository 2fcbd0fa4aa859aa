"""Opaque keyset page tokens: base64url of a small JSON list of key values."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from api.errors import ValidationFailed
from api.ids import INT64_MAX


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
        raise ValidationFailed("page_token is not a token this API issued.")
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
