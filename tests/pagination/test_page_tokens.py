"""Page tokens: signed, bound to their query; the key is a secret, required where deployed."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from pydantic import SecretStr

from api.app import create_app
from api.config import Settings
from api.errors import ValidationFailed
from api.pagination import TokenSigner, page_token_key, query_name
from tests.support import make_settings

SECRET = "x" * 32
QUERY = query_name(list="accounts", currency="USD")


def settings(**values: Any) -> Settings:
    return make_settings("localhost:9010", "db", **values)


def forged(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_an_issued_token_opens_to_its_position() -> None:
    signer = TokenSigner(SECRET.encode())
    token = signer.sign(QUERY, -(2**63), "acct-1")
    assert signer.open(token, QUERY, types=(int, str)) == [-(2**63), "acct-1"]


def test_a_token_of_another_query_or_key_is_refused() -> None:
    token = TokenSigner(SECRET.encode()).sign(QUERY, 1, "a")
    with pytest.raises(ValidationFailed):
        TokenSigner(SECRET.encode()).open(token, query_name(list="accounts"), types=(int, str))
    with pytest.raises(ValidationFailed):
        TokenSigner(b"y" * 32).open(token, QUERY, types=(int, str))


@pytest.mark.parametrize(
    "position",
    [[2**63, "a"], [-(2**63) - 1, "a"], [0, "\ud800"], [True, "a"], ["1", "a"], [1]],
    ids=["int-over-int64", "int-under-int64", "lone-surrogate", "bool-for-int",
         "str-for-int", "too-short"],
)  # fmt: skip
def test_even_a_signed_position_spanner_cannot_take_is_refused(position: list[Any]) -> None:
    signer = TokenSigner(SECRET.encode())
    with pytest.raises(ValidationFailed):
        signer.open(signer.sign(QUERY, *position), QUERY, types=(int, str))


@pytest.mark.parametrize(
    "token", [forged([1, "a"]), forged({"k": 1}), "not base64 at all!", "a.b.c"]
)
def test_unsigned_or_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationFailed):
        TokenSigner(SECRET.encode()).open(token, QUERY, types=(int, str))


def test_no_key_is_derived_from_the_databases_public_names() -> None:
    """It was sha256 of the project, instance and database names: anyone could sign."""
    local = settings()
    where = f"{local.project}/{local.spanner_instance}/{local.spanner_database}"
    public = hashlib.sha256(f"spanner-ledger page tokens: {where}".encode()).digest()
    first, second = page_token_key(local), page_token_key(local)
    assert public not in (first, second)
    assert first != second  # locally, a random key per process


@pytest.mark.parametrize(
    "platform", [{"K_SERVICE": "ledger-api"}, {"AWS_LAMBDA_FUNCTION_NAME": "ledger"}]
)
def test_a_deployed_service_refuses_to_start_without_the_secret(platform: dict[str, str]) -> None:
    with pytest.raises(RuntimeError, match="LEDGER_PAGE_TOKEN_SECRET is required"):
        create_app(settings(**platform, allow_no_auth_on_cloud_run=True), configure_logs=False)


def test_a_deployed_service_starts_with_the_secret() -> None:
    deployed = settings(K_SERVICE="ledger-api", allow_no_auth_on_cloud_run=True,
                        page_token_secret=SecretStr(SECRET))  # fmt: skip
    create_app(deployed, configure_logs=False)
    assert page_token_key(deployed) == SECRET.encode()


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        page_token_key(settings(page_token_secret=SecretStr("password")))
