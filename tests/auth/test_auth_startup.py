"""What the service refuses to start with, and what it warns about."""

from __future__ import annotations

import logging

import pytest

from api.auth import Authenticator, check_auth_startup


def test_none_mode_on_cloud_run_refuses_to_start(kit):
    settings = kit.settings(auth_mode="none", K_SERVICE="ledger-api")
    with pytest.raises(RuntimeError, match="refused on Cloud Run"):
        check_auth_startup(settings)


def test_none_mode_on_aws_lambda_refuses_to_start(kit):
    settings = kit.settings(auth_mode="none", AWS_LAMBDA_FUNCTION_NAME="ledger")
    with pytest.raises(RuntimeError, match="refused on AWS Lambda"):
        check_auth_startup(settings)


def test_authenticator_cannot_be_built_for_none_mode_on_cloud_run(kit):
    settings = kit.settings(auth_mode="none", K_SERVICE="ledger-api")
    with pytest.raises(RuntimeError, match="refused on Cloud Run"):
        Authenticator.from_settings(settings)


def test_none_mode_on_cloud_run_starts_with_the_override_and_warns(kit, caplog):
    settings = kit.settings(
        auth_mode="none", K_SERVICE="ledger-api", allow_no_auth_on_cloud_run=True
    )
    with caplog.at_level(logging.WARNING, logger="api.auth"):
        check_auth_startup(settings)
    assert "authentication is OFF" in caplog.text


def test_none_mode_locally_starts_and_warns(kit, caplog):
    with caplog.at_level(logging.WARNING, logger="api.auth"):
        authenticator = Authenticator.from_settings(kit.settings(auth_mode="none"))
    assert not authenticator.enabled
    assert "authentication is OFF" in caplog.text


@pytest.mark.parametrize("mode", ["google", "oidc"])
def test_token_modes_start_without_warning(kit, caplog, mode):
    with caplog.at_level(logging.WARNING, logger="api.auth"):
        check_auth_startup(kit.settings(auth_mode=mode, K_SERVICE="ledger-api"))
    assert caplog.text == ""


@pytest.mark.parametrize("mode", ["google", "oidc"])
def test_token_modes_need_an_audience(kit, mode):
    with pytest.raises(RuntimeError, match="LEDGER_AUTH_AUDIENCE"):
        check_auth_startup(kit.settings(auth_mode=mode, auth_audience=None))


@pytest.mark.parametrize(
    ("missing", "variable"),
    [("oidc_issuer", "LEDGER_OIDC_ISSUER"), ("oidc_jwks_url", "LEDGER_OIDC_JWKS_URL")],
)
def test_oidc_mode_needs_issuer_and_jwks_url(kit, missing, variable):
    with pytest.raises(RuntimeError, match=variable):
        check_auth_startup(kit.settings(auth_mode="oidc", **{missing: None}))


def test_keys_are_only_fetched_over_https_except_from_loopback(kit):
    settings = kit.settings(auth_mode="oidc", oidc_jwks_url="http://issuer.test/jwks")
    with pytest.raises(RuntimeError, match="https"):
        check_auth_startup(settings)


def test_building_the_authenticator_fetches_nothing(kit):
    Authenticator.from_settings(kit.settings(auth_mode="oidc"))
    assert kit.jwks_fetches == 0
