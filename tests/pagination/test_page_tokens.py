"""Page tokens: what the API issued decodes; anything else is a validation error."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from api.errors import ValidationFailed
from api.pagination import decode_token, encode_token


def forged(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_issued_token_decodes_to_its_key() -> None:
    token = encode_token(-(2**63), "acct-1")
    assert decode_token(token, types=(int, str)) == [-(2**63), "acct-1"]


@pytest.mark.parametrize(
    "token",
    [
        forged([2**63, "a"]),
        forged([-(2**63) - 1, "a"]),
        forged([0, "\ud800"]),
        forged([True, "a"]),
        forged(["1", "a"]),
        forged([1]),
        forged({"k": 1}),
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
    ids=[
        "int-over-int64",
        "int-under-int64",
        "lone-surrogate",
        "bool-for-int",
        "str-for-int",
        "too-short",
        "not-a-list",
        "not-base64",
        "not-utf8",
    ],
)
def test_forged_token_is_a_validation_error(token: str) -> None:
    with pytest.raises(ValidationFailed):
        decode_token(token, types=(int, str))
