"""Verifying tokens against an OIDC issuer's JWKS, served over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from api.auth import Principal, SigningKeysUnavailable, Unauthenticated


def reason(authenticate: Callable[[str], Principal], token: str) -> str | None:
    with pytest.raises(Unauthenticated) as caught:
        authenticate(token)
    return caught.value.reason


@pytest.fixture
def authenticate(kit, rsa_signer, ec_signer) -> Callable[[str], Principal]:
    kit.publish_jwks(rsa_signer, ec_signer)
    return kit.oidc().authenticate


def test_accepts_rs256_token(kit, authenticate, rsa_signer):
    principal = authenticate(kit.mint(rsa_signer, scope="ledger.read"))
    assert principal == Principal(
        subject="subject-123", issuer=kit.issuer, scopes=frozenset({"ledger.read"})
    )


def test_accepts_es256_token(kit, authenticate, ec_signer):
    assert authenticate(kit.mint(ec_signer)).subject == "subject-123"


def test_verifier_returns_verified_claims(kit, rsa_signer):
    kit.publish_jwks(rsa_signer)
    verifier = kit.oidc().verifier
    claims = verifier.verify(kit.mint(rsa_signer, email="a@example.com"))
    assert claims["email"] == "a@example.com"
    assert claims["aud"] == kit.audience


def test_rejects_expired_token(kit, authenticate, rsa_signer):
    now = int(time.time())
    token = kit.mint(rsa_signer, iat=now - 600, exp=now - 120)
    assert reason(authenticate, token) == "token expired"


def test_accepts_token_expired_within_leeway(kit, authenticate, rsa_signer):
    now = int(time.time())
    token = kit.mint(rsa_signer, iat=now - 600, exp=now - 5)  # leeway is 30 s
    assert authenticate(token).subject == "subject-123"


def test_rejects_token_issued_in_the_future(kit, authenticate, rsa_signer):
    now = int(time.time())
    token = kit.mint(rsa_signer, iat=now + 600, exp=now + 900)
    assert reason(authenticate, token) == "token not yet valid"


def test_rejects_token_not_valid_before_a_future_time(kit, authenticate, rsa_signer):
    token = kit.mint(rsa_signer, nbf=int(time.time()) + 600)
    assert reason(authenticate, token) == "token not yet valid"


def test_rejects_wrong_audience(kit, authenticate, rsa_signer):
    token = kit.mint(rsa_signer, aud="https://another-service.test")
    assert reason(authenticate, token) == "wrong audience"


def test_accepts_audience_list_containing_ours(kit, authenticate, rsa_signer):
    token = kit.mint(rsa_signer, aud=["https://another-service.test", kit.audience])
    assert authenticate(token).subject == "subject-123"


def test_rejects_wrong_issuer(kit, authenticate, rsa_signer):
    token = kit.mint(rsa_signer, issuer="https://evil.test")
    assert reason(authenticate, token) == "wrong issuer"


def test_rejects_google_issuer_in_oidc_mode(kit, authenticate, rsa_signer):
    token = kit.mint(rsa_signer, issuer="https://accounts.google.com")
    assert reason(authenticate, token) == "wrong issuer"


@pytest.mark.parametrize("claim", ["exp", "iat", "aud", "iss", "sub"])
def test_rejects_token_missing_required_claim(kit, authenticate, rsa_signer, claim):
    token = kit.mint(rsa_signer, **{claim: None})
    assert reason(authenticate, token) == f"missing {claim} claim"


def test_rejects_signature_by_another_key(kit, authenticate, rsa_signer, rsa_signer_2):
    forged = kit.mint(rsa_signer_2.with_kid(rsa_signer.kid))
    assert reason(authenticate, forged) == "invalid signature"


def test_rejects_tampered_claims(kit, authenticate, rsa_signer):
    header, _, signature = kit.mint(rsa_signer, scope="ledger.read").split(".")
    claims = kit.b64(json.dumps(kit.claims(scope="ledger.write")).encode())
    assert reason(authenticate, f"{header}.{claims}.{signature}") == "invalid signature"


def test_rejects_unsigned_token(kit, authenticate, rsa_signer):
    token = kit.forge({"alg": "none", "kid": rsa_signer.kid}, kit.claims(), lambda _: b"")
    assert reason(authenticate, token) == "unsupported algorithm"


def test_rejects_hs256_token_keyed_with_the_public_key(kit, authenticate, rsa_signer):
    """Algorithm confusion: the published public key used as an HMAC secret."""
    secret = rsa_signer.public_pem()
    token = kit.forge(
        {"alg": "HS256", "typ": "JWT", "kid": rsa_signer.kid},
        kit.claims(scope="ledger.write"),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    assert reason(authenticate, token) == "unsupported algorithm"


def test_rejects_algorithm_other_than_the_keys(kit, authenticate, rsa_signer, ec_signer):
    """An ES256 signature naming an RSA key's kid never reaches the RSA key."""
    token = kit.mint(ec_signer.with_kid(rsa_signer.kid))
    assert reason(authenticate, token) == "algorithm does not match the signing key"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJSUzI1NiJ9",
        "x" * 20_000,
    ],
)
def test_rejects_malformed_token(authenticate, token):
    assert reason(authenticate, token) == "malformed token"


def test_empty_token_counts_as_no_token(authenticate):
    assert reason(authenticate, "") is None


def test_rejects_non_string_kid(kit, authenticate, rsa_signer):
    token = kit.forge({"alg": "RS256", "kid": 7}, kit.claims(), lambda _: b"signature")
    assert reason(authenticate, token) == "malformed token"


def test_kidless_token_uses_the_only_key(kit, rsa_signer):
    kit.publish_jwks(rsa_signer)
    token = jwt.encode(kit.claims(), rsa_signer.private_key, algorithm="RS256")
    assert kit.oidc().authenticate(token).subject == "subject-123"


def test_kidless_token_is_rejected_when_several_keys(kit, authenticate, rsa_signer):
    token = jwt.encode(kit.claims(), rsa_signer.private_key, algorithm="RS256")
    assert reason(authenticate, token) == "unknown signing key"


def test_rejection_reason_never_contains_the_token(kit, authenticate, rsa_signer):
    token = kit.mint(rsa_signer, aud="https://another-service.test")
    with pytest.raises(Unauthenticated) as caught:
        authenticate(token)
    error = caught.value
    assert token not in error.detail
    assert all(token not in value for value in error.headers.values())


# --- the JWKS cache ---------------------------------------------------------------


def test_many_verifications_fetch_the_jwks_once(kit, rsa_signer):
    kit.publish_jwks(rsa_signer)
    authenticator = kit.oidc()
    for _ in range(20):
        authenticator.authenticate(kit.mint(rsa_signer))
    assert kit.jwks_fetches == 1


def test_concurrent_first_requests_fetch_the_jwks_once(kit, rsa_signer):
    kit.publish_jwks(rsa_signer)
    authenticator = kit.oidc()
    tokens = [kit.mint(rsa_signer, sub=f"caller-{n}") for n in range(16)]
    start = threading.Barrier(len(tokens))

    def call(token: str) -> str:
        start.wait()
        return authenticator.authenticate(token).subject

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        subjects = list(pool.map(call, tokens))

    assert subjects == [f"caller-{n}" for n in range(16)]
    assert kit.jwks_fetches == 1


def test_jwks_is_refetched_after_max_age(kit, rsa_signer):
    kit.publish_jwks(rsa_signer, cache_control="max-age=600")
    authenticator = kit.oidc()
    authenticator.authenticate(kit.mint(rsa_signer))
    kit.clock.advance(599)
    authenticator.authenticate(kit.mint(rsa_signer))
    assert kit.jwks_fetches == 1
    kit.clock.advance(2)
    authenticator.authenticate(kit.mint(rsa_signer))
    assert kit.jwks_fetches == 2


def test_zero_max_age_is_raised_to_the_minimum(kit, rsa_signer):
    kit.publish_jwks(rsa_signer, cache_control="no-cache")
    authenticator = kit.oidc()
    for _ in range(5):
        authenticator.authenticate(kit.mint(rsa_signer))
    assert kit.jwks_fetches == 1


def test_unknown_kid_refetches_once_and_finds_the_rotated_key(kit, rsa_signer, rsa_signer_2):
    kit.publish_jwks(rsa_signer)
    authenticator = kit.oidc()
    authenticator.authenticate(kit.mint(rsa_signer))
    kit.publish_jwks(rsa_signer, rsa_signer_2)
    kit.clock.advance(60)  # past the refetch cooldown, well inside max-age

    principal = authenticator.authenticate(kit.mint(rsa_signer_2))

    assert principal.subject == "subject-123"
    assert kit.jwks_fetches == 2


def test_unknown_kid_is_rejected_after_one_refetch(kit, rsa_signer, rsa_signer_2):
    kit.publish_jwks(rsa_signer)
    authenticator = kit.oidc()
    authenticator.authenticate(kit.mint(rsa_signer))
    kit.clock.advance(60)

    assert reason(authenticator.authenticate, kit.mint(rsa_signer_2)) == "unknown signing key"
    assert kit.jwks_fetches == 2


def test_flood_of_unknown_kids_causes_at_most_one_refetch(kit, rsa_signer):
    kit.publish_jwks(rsa_signer)
    authenticator = kit.oidc()
    authenticator.authenticate(kit.mint(rsa_signer))
    kit.clock.advance(60)

    for n in range(50):
        token = kit.mint(rsa_signer.with_kid(f"random-{n}"))
        assert reason(authenticator.authenticate, token) == "unknown signing key"
    assert kit.jwks_fetches == 2


def test_unknown_kid_on_a_cold_cache_fetches_once(kit, rsa_signer, rsa_signer_2):
    kit.publish_jwks(rsa_signer)
    authenticator = kit.oidc()
    assert reason(authenticator.authenticate, kit.mint(rsa_signer_2)) == "unknown signing key"
    assert kit.jwks_fetches == 1


def test_unreachable_jwks_is_a_503_not_a_401(kit, rsa_signer):
    kit.server.publish("/jwks", {"error": "boom"}, status=500)
    with pytest.raises(SigningKeysUnavailable) as caught:
        kit.oidc().authenticate(kit.mint(rsa_signer))
    assert caught.value.status == 503
    assert caught.value.headers["Retry-After"] == "5"


def test_failed_refresh_keeps_the_previous_keys(kit, rsa_signer):
    kit.publish_jwks(rsa_signer, cache_control="max-age=300")
    authenticator = kit.oidc()
    authenticator.authenticate(kit.mint(rsa_signer))
    kit.server.publish("/jwks", {"error": "boom"}, status=503)
    kit.clock.advance(301)

    assert authenticator.authenticate(kit.mint(rsa_signer)).subject == "subject-123"
    assert authenticator.authenticate(kit.mint(rsa_signer)).subject == "subject-123"
    assert kit.jwks_fetches == 2  # the failed attempt is not retried at once


def test_symmetric_keys_in_the_jwks_are_ignored(kit, rsa_signer):
    secret = b"a-shared-secret-nobody-should-trust"
    kit.server.publish(
        "/jwks",
        {
            "keys": [
                {"kty": "oct", "kid": "hmac", "k": kit.b64(secret), "alg": "HS256"},
                rsa_signer.jwk(),
            ]
        },
    )
    token = kit.forge(
        {"alg": "HS256", "kid": "hmac"},
        kit.claims(),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    assert reason(kit.oidc().authenticate, token) == "unsupported algorithm"
