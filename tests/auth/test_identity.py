"""Who a token names: a verified email, or a subject, never one posing as the other.

``LEDGER_AUTH_PRINCIPAL_SCOPES`` keys say which namespace they are in (``email:...``
or ``sub:...``; a bare address is short for ``email:``), an email counts only when the
issuer says ``email_verified: true`` (the JSON boolean), and the principal's name and
rate-limit key keep the two apart.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from api.auth import LOCAL_PRINCIPAL, Principal
from api.config import Settings
from api.ratelimit import rate_limit_key

SERVICE_ACCOUNT = "payments@project.iam.gserviceaccount.com"


@pytest.fixture
def authenticate(kit, rsa_signer):
    kit.publish_jwks(rsa_signer)

    def authenticate(scopes: dict[str, list[str]], **claims: Any) -> Principal:
        authenticator = kit.oidc(auth_principal_scopes=scopes)
        return authenticator.authenticate(kit.mint(rsa_signer, **claims))

    return authenticate


# --- email_verified ---------------------------------------------------------------------


def test_verified_email_gets_the_scopes_mapped_to_it(authenticate):
    principal = authenticate(
        {SERVICE_ACCOUNT: ["ledger.write"]}, email=SERVICE_ACCOUNT, email_verified=True
    )
    assert principal.email == SERVICE_ACCOUNT
    assert principal.can_write


@pytest.mark.parametrize(
    "verified",
    [None, False, "true", "True", 1, "false", ["true"], {"value": True}],
    ids=repr,
)
def test_email_not_verified_by_a_json_true_names_nobody(authenticate, verified):
    principal = authenticate(
        {SERVICE_ACCOUNT: ["ledger.write"]}, email=SERVICE_ACCOUNT, email_verified=verified
    )
    assert principal.email is None
    assert principal.scopes == frozenset()
    assert principal.name == "sub:subject-123"


def test_explicit_email_prefix_is_the_same_as_a_bare_address(authenticate):
    principal = authenticate(
        {f"email:{SERVICE_ACCOUNT}": ["ledger.read"]}, email=SERVICE_ACCOUNT, email_verified=True
    )
    assert principal.scopes == {"ledger.read"}


# --- the two namespaces ---------------------------------------------------------------


def test_subject_that_looks_like_an_email_does_not_get_that_emails_scopes(authenticate):
    principal = authenticate({SERVICE_ACCOUNT: ["ledger.write"]}, sub=SERVICE_ACCOUNT)
    assert principal.scopes == frozenset()


def test_subject_is_mapped_with_the_sub_prefix(authenticate):
    principal = authenticate({"sub:112233": ["ledger.read"]}, sub="112233")
    assert principal.scopes == {"ledger.read"}


def test_sub_prefix_never_matches_an_email(authenticate):
    principal = authenticate(
        {f"sub:{SERVICE_ACCOUNT}": ["ledger.write"]}, email=SERVICE_ACCOUNT, email_verified=True
    )
    assert principal.scopes == frozenset()


def test_verified_email_is_looked_up_before_the_subject(authenticate):
    principal = authenticate(
        {SERVICE_ACCOUNT: ["ledger.read"], "sub:112233": ["ledger.write"]},
        sub="112233",
        email=SERVICE_ACCOUNT,
        email_verified=True,
    )
    assert principal.scopes == {"ledger.read"}


def test_a_subject_cannot_take_an_emails_name_or_rate_limit_bucket():
    by_email = Principal(subject="1", email=SERVICE_ACCOUNT, issuer="i", scopes=frozenset())
    by_subject = Principal(subject=SERVICE_ACCOUNT, issuer="i", scopes=frozenset())
    assert by_email.name == SERVICE_ACCOUNT
    assert by_subject.name == f"sub:{SERVICE_ACCOUNT}"
    request = Request({"type": "http", "client": ("10.0.0.1", 1), "headers": []})
    keys = {rate_limit_key(request, principal) for principal in (by_email, by_subject)}
    assert len(keys) == 2


def test_local_principal_is_limited_by_address():
    request = Request({"type": "http", "client": ("10.0.0.1", 1), "headers": []})
    assert rate_limit_key(request, LOCAL_PRINCIPAL) == "address:10.0.0.1"


# --- configuration ----------------------------------------------------------------------


def test_configured_keys_are_stored_with_their_namespace(kit):
    settings = kit.settings(
        auth_principal_scopes={
            SERVICE_ACCOUNT: ["ledger.write"],
            "email:ops@example.com": ["ledger.read"],
            "sub:112233": ["ledger.read"],
        }
    )
    assert settings.auth_principal_scopes == {
        f"email:{SERVICE_ACCOUNT}": ["ledger.write"],
        "email:ops@example.com": ["ledger.read"],
        "sub:112233": ["ledger.read"],
    }


def test_keys_parse_from_the_environment_variable(monkeypatch):
    monkeypatch.setenv(
        "LEDGER_AUTH_PRINCIPAL_SCOPES",
        f'{{"{SERVICE_ACCOUNT}": ["ledger.read"], "sub:42": ["ledger.write"]}}',
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.auth_principal_scopes == {
        f"email:{SERVICE_ACCOUNT}": ["ledger.read"],
        "sub:42": ["ledger.write"],
    }


@pytest.mark.parametrize(
    "key",
    ["112233", "sub:", "email:", "email:not-an-address", "user:alice", " "],
)
def test_a_key_that_does_not_say_its_namespace_is_refused(kit, key):
    with pytest.raises(ValidationError, match="LEDGER_AUTH_PRINCIPAL_SCOPES"):
        kit.settings(auth_principal_scopes={key: ["ledger.read"]})


def test_the_same_email_twice_is_refused(kit):
    with pytest.raises(ValidationError, match="more than once"):
        kit.settings(
            auth_principal_scopes={
                SERVICE_ACCOUNT: ["ledger.read"],
                f"email:{SERVICE_ACCOUNT}": ["ledger.write"],
            }
        )
