"""Google mode: ID tokens verified against Google-format x509 certificates over HTTP."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from api.auth import Unauthenticated

GOOGLE = "https://accounts.google.com"
SERVICE_ACCOUNT = "invoker@project.iam.gserviceaccount.com"


def google_token(kit, signer, **claims):
    claims.setdefault("email", SERVICE_ACCOUNT)
    claims.setdefault("email_verified", True)
    return kit.mint(signer, issuer=GOOGLE, **claims)


@pytest.mark.parametrize("issuer", ["https://accounts.google.com", "accounts.google.com"])
def test_accepts_google_id_token(kit, rsa_signer, issuer):
    kit.publish_certs(rsa_signer)
    principal = kit.google().authenticate(google_token(kit, rsa_signer, iss=issuer))
    assert principal.email == SERVICE_ACCOUNT
    assert principal.issuer == issuer


def test_rejects_other_issuer(kit, rsa_signer):
    kit.publish_certs(rsa_signer)
    token = kit.mint(rsa_signer)  # the OIDC test issuer, not Google
    with pytest.raises(Unauthenticated) as caught:
        kit.google().authenticate(token)
    assert caught.value.reason == "wrong issuer"


def test_rejects_wrong_audience(kit, rsa_signer):
    kit.publish_certs(rsa_signer)
    token = google_token(kit, rsa_signer, aud="https://other-run-service.a.run.app")
    with pytest.raises(Unauthenticated) as caught:
        kit.google().authenticate(token)
    assert caught.value.reason == "wrong audience"


def test_many_requests_fetch_the_certificates_once(kit, rsa_signer):
    kit.publish_certs(rsa_signer, cache_control="public, max-age=19800, must-revalidate")
    authenticator = kit.google()
    for _ in range(25):
        authenticator.authenticate(google_token(kit, rsa_signer))
    assert kit.certs_fetches == 1


def test_expires_header_is_honoured_without_max_age(kit, rsa_signer):
    expires = formatdate(time.time() + 3600, usegmt=True)  # the server sends Date: now
    kit.publish_certs(rsa_signer, cache_control=None, headers={"Expires": expires})
    authenticator = kit.google()
    authenticator.authenticate(google_token(kit, rsa_signer))
    kit.clock.advance(3500)
    authenticator.authenticate(google_token(kit, rsa_signer))
    assert kit.certs_fetches == 1
    kit.clock.advance(200)
    authenticator.authenticate(google_token(kit, rsa_signer))
    assert kit.certs_fetches == 2


def test_rotated_certificate_is_fetched_after_max_age(kit, rsa_signer, rsa_signer_2):
    kit.publish_certs(rsa_signer, cache_control="public, max-age=3600")
    authenticator = kit.google()
    authenticator.authenticate(google_token(kit, rsa_signer))
    kit.publish_certs(rsa_signer_2, cache_control="public, max-age=3600")  # rotation
    kit.clock.advance(3601)

    principal = authenticator.authenticate(google_token(kit, rsa_signer_2))

    assert principal.email == SERVICE_ACCOUNT
    assert kit.certs_fetches == 2


def test_retired_certificate_is_rejected_after_refetch(kit, rsa_signer, rsa_signer_2):
    kit.publish_certs(rsa_signer, cache_control="public, max-age=3600")
    authenticator = kit.google()
    authenticator.authenticate(google_token(kit, rsa_signer))
    kit.publish_certs(rsa_signer_2, cache_control="public, max-age=3600")
    kit.clock.advance(3601)

    with pytest.raises(Unauthenticated) as caught:
        authenticator.authenticate(google_token(kit, rsa_signer))
    assert caught.value.reason == "unknown signing key"


def test_google_jwks_format_is_understood(kit, rsa_signer):
    """Google's v3 endpoint publishes a JWK Set instead of certificates."""
    kit.server.publish("/certs", {"keys": [rsa_signer.jwk()]})
    principal = kit.google().authenticate(google_token(kit, rsa_signer))
    assert principal.email == SERVICE_ACCOUNT


# --- scopes of principals whose tokens carry none --------------------------------


def test_scopes_come_from_the_principal_mapping(kit, rsa_signer):
    kit.publish_certs(rsa_signer)
    authenticator = kit.google(auth_principal_scopes={SERVICE_ACCOUNT: ["ledger.write"]})
    principal = authenticator.authenticate(google_token(kit, rsa_signer))
    assert principal.scopes == {"ledger.read", "ledger.write"}


def test_mapping_may_name_the_subject(kit, rsa_signer):
    kit.publish_certs(rsa_signer)
    authenticator = kit.google(auth_principal_scopes={"sub:112233": ["ledger.read"]})
    principal = authenticator.authenticate(google_token(kit, rsa_signer, sub="112233"))
    assert principal.scopes == {"ledger.read"}


def test_unmapped_principal_has_no_scopes(kit, rsa_signer):
    kit.publish_certs(rsa_signer)
    authenticator = kit.google(auth_principal_scopes={"someone-else@example.com": ["ledger.read"]})
    principal = authenticator.authenticate(google_token(kit, rsa_signer))
    assert principal.scopes == frozenset()
    assert not principal.can_read


def test_unverified_email_is_not_used(kit, rsa_signer):
    kit.publish_certs(rsa_signer)
    authenticator = kit.google(auth_principal_scopes={SERVICE_ACCOUNT: ["ledger.write"]})
    principal = authenticator.authenticate(google_token(kit, rsa_signer, email_verified=False))
    assert principal.email is None
    assert principal.name == "sub:subject-123"
    assert principal.scopes == frozenset()


def test_key_fetch_is_needed_only_until_the_keys_are_cached(kit, rsa_signer):
    kit.publish_certs(rsa_signer)
    authenticator = kit.google()
    token = google_token(kit, rsa_signer)
    assert authenticator.needs_io(token)  # nothing cached yet: may fetch
    authenticator.authenticate(token)
    assert not authenticator.needs_io(token)  # cached and fresh: CPU only


def test_unknown_key_id_needs_a_fetch(kit, rsa_signer, rsa_signer_2):
    kit.publish_certs(rsa_signer)
    authenticator = kit.google()
    authenticator.authenticate(google_token(kit, rsa_signer))
    assert authenticator.needs_io(google_token(kit, rsa_signer_2))
