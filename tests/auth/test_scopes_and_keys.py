"""Pure pieces: scope resolution, principals, HTTP cache lifetimes, key parsing."""

from __future__ import annotations

import pytest

from api.auth.keys import KeyFetchError, cache_lifetime, parse_key_document
from api.auth.principal import LOCAL_PRINCIPAL, Principal
from api.auth.scopes import expand, resolve_scopes, scopes_from_claims

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "ledger.read"}, {"ledger.read"}),
        ({"scope": "openid ledger.write email"}, {"ledger.read", "ledger.write"}),
        ({"scp": ["ledger.read", "profile"]}, {"ledger.read"}),
        ({"scp": "ledger.write"}, {"ledger.read", "ledger.write"}),
        ({"scope": "openid"}, set()),
        ({"scope": "ledger.admin ledger.reader"}, set()),
    ],
)
def test_scopes_stated_by_the_token(claims, scopes):
    assert scopes_from_claims(claims) == scopes


def test_token_without_scope_claims_states_none():
    assert scopes_from_claims({"sub": "x"}) is None


def test_stated_scopes_win_over_the_mapping():
    scopes = resolve_scopes(
        {"scope": "ledger.read"},
        principal_keys=["svc@example.com"],
        principal_scopes={"svc@example.com": ["ledger.write"]},
    )
    assert scopes == {"ledger.read"}


def test_mapping_is_looked_up_by_email_before_subject():
    scopes = resolve_scopes(
        {},
        principal_keys=["svc@example.com", "1234"],
        principal_scopes={"1234": ["ledger.write"], "svc@example.com": ["ledger.read"]},
    )
    assert scopes == {"ledger.read"}


def test_write_implies_read():
    assert expand(["ledger.write"]) == {"ledger.read", "ledger.write"}


def test_principal_name_prefers_email():
    principal = Principal(subject="1234", email="a@example.com", issuer="i", scopes=frozenset())
    assert principal.name == "a@example.com"


def test_principal_with_write_scope_alone_can_read():
    principal = Principal(subject="1234", issuer="i", scopes=frozenset({"ledger.write"}))
    assert principal.can_read
    assert principal.can_write


def test_local_principal_can_read_and_write():
    assert LOCAL_PRINCIPAL.can_read
    assert LOCAL_PRINCIPAL.can_write


@pytest.mark.parametrize(
    ("headers", "lifetime"),
    [
        ({"cache-control": "public, max-age=19800, must-revalidate"}, 19800.0),
        ({"cache-control": "max-age=600", "age": "100"}, 500.0),
        ({"cache-control": "no-store"}, 0.0),
        ({"cache-control": "max-age=oops"}, 0.0),
        ({"expires": "Tue, 14 Nov 2023 22:30:00 GMT"}, 1000.0),
        (
            {"expires": "Tue, 14 Nov 2023 23:00:00 GMT", "date": "Tue, 14 Nov 2023 22:00:00 GMT"},
            3600.0,
        ),
        ({"expires": "0"}, 0.0),
        ({"cache-control": "max-age=60", "expires": "Tue, 14 Nov 2023 23:00:00 GMT"}, 60.0),
        ({}, None),
    ],
)
def test_cache_lifetime_from_headers(headers, lifetime):
    assert cache_lifetime(headers, wall_now=NOW) == lifetime


def test_key_document_without_usable_keys_is_an_error():
    with pytest.raises(KeyFetchError):
        parse_key_document({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]})


def test_encryption_keys_are_not_used_for_signatures(rsa_signer):
    encryption = {**rsa_signer.jwk(), "use": "enc"}
    with pytest.raises(KeyFetchError):
        parse_key_document({"keys": [encryption]})


def test_rsa_key_declared_for_rs256_verifies_only_rs256(rsa_signer):
    (key,) = parse_key_document({"keys": [rsa_signer.jwk()]})
    assert key.algorithms == {"RS256"}


def test_p256_key_verifies_only_es256(ec_signer):
    jwk = {k: v for k, v in ec_signer.jwk().items() if k != "alg"}
    (key,) = parse_key_document({"keys": [jwk]})
    assert key.algorithms == {"ES256"}


def test_google_certificates_are_parsed(rsa_signer):
    (key,) = parse_key_document({"k1": rsa_signer.certificate_pem()})
    assert key.kid == "k1"
    assert "RS256" in key.algorithms
