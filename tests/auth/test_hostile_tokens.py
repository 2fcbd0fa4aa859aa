"""Whatever a caller puts in ``Authorization``, the answer is 401 or 403, never a 500.

The JOSE header is attacker-controlled JSON read before any signature is checked: every
member may have any JSON type. Example-based cases pin the shapes that once crashed;
the property tests throw arbitrary headers, payloads, signatures and header values at
the authenticator and at real routes of the real app.
"""

from __future__ import annotations

import base64
import json
import string
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.auth import Authenticator, Unauthenticated


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# Keys are fetched over real HTTP; the hand-driven clock never leaves the refetch
# cooldown, so unknown kids cost at most one fetch per test, however many examples.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Header members a verifier looks at, with values of any JSON type.
jose_headers = st.fixed_dictionaries(
    {},
    optional={
        name: json_values | st.just("RS256")
        for name in ("alg", "kid", "typ", "crit", "b64", "jku", "x5c", "cty")
    },
) | st.dictionaries(st.text(max_size=8), json_values, max_size=4)
segments = st.one_of(
    st.builds(lambda value: b64(json.dumps(value).encode()), jose_headers | json_values),
    st.builds(b64, st.binary(max_size=64)),  # base64url of anything, UTF-8 or not
    st.text(alphabet=string.printable, max_size=40),  # not base64 at all
)
tokens = st.builds(lambda *parts: ".".join(parts), segments, segments, segments) | st.text(
    max_size=200
)


def forged(header: object, payload: object = None, signature: bytes = b"sig") -> str:
    body = {} if payload is None else payload
    return ".".join(
        (b64(json.dumps(header).encode()), b64(json.dumps(body).encode()), b64(signature))
    )


@pytest.fixture
def authenticator(kit, rsa_signer) -> Authenticator:
    kit.publish_jwks(rsa_signer)
    authenticator = kit.oidc()
    authenticator.authenticate(kit.mint(rsa_signer))  # keys cached, as in steady state
    return authenticator


def assert_rejected(authenticator: Authenticator, token: str) -> None:
    assert isinstance(authenticator.needs_io(token), bool)
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(token)


HOSTILE_HEADERS: dict[str, Any] = {
    "alg list": {"alg": ["RS256"], "kid": "rsa-1"},
    "alg object": {"alg": {"RS256": True}, "kid": "rsa-1"},
    "alg number": {"alg": 256, "kid": "rsa-1"},
    "alg null": {"alg": None, "kid": "rsa-1"},
    "alg true": {"alg": True, "kid": "rsa-1"},
    "no alg": {"kid": "rsa-1"},
    "kid list": {"alg": "RS256", "kid": ["rsa-1"]},
    "kid object": {"alg": "RS256", "kid": {"rsa-1": 1}},
    "kid number": {"alg": "RS256", "kid": 1},
    "typ list": {"alg": "RS256", "kid": "rsa-1", "typ": ["JWT"]},
    "crit string": {"alg": "RS256", "kid": "rsa-1", "crit": "exp"},
    "crit empty": {"alg": "RS256", "kid": "rsa-1", "crit": []},
    "crit of lists": {"alg": "RS256", "kid": "rsa-1", "crit": [["b64"]]},
    "crit unknown": {"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]},
    "b64 false": {"alg": "RS256", "kid": "rsa-1", "b64": False, "crit": ["b64"]},
    "header list": ["RS256"],
    "header string": "RS256",
    "header number": 7,
    "header null": None,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_HEADERS))
def test_hostile_jose_header_is_rejected_as_401(authenticator, name):
    assert_rejected(authenticator, forged(HOSTILE_HEADERS[name]))


@pytest.mark.parametrize("name", ["alg list", "alg object", "alg number", "alg null", "no alg"])
def test_a_header_rejected_before_key_lookup_needs_no_io(authenticator, name):
    """Even naming a kid that is not cached: the token is refused before any lookup."""
    header = {**HOSTILE_HEADERS[name], "kid": "not-published"}
    assert authenticator.needs_io(forged(header)) is False


@pytest.mark.parametrize(
    "token",
    [
        "e30.e30.e30",  # {} . {} . {}
        b64(b'{"alg":"\xff\xfe"}') + ".e30.c2ln",  # header not UTF-8
        "!!!.###.$$$",
        "a.b",
        "a.b.c.d",
        "\u00e9\u00e8.\u00e0.\u00fc",
        b64(b"[" * 50_000) + ".e30.c2ln",  # deep nesting, still under the length cap
    ],
)
def test_undecodable_token_is_rejected_as_401(authenticator, token):
    assert_rejected(authenticator, token)


@FUZZ
@given(header=jose_headers, payload=json_values, signature=st.binary(max_size=300))
def test_any_jose_header_and_payload_is_rejected(authenticator, header, payload, signature):
    assert_rejected(authenticator, forged(header, payload, signature))


@FUZZ
@given(token=tokens)
def test_any_token_text_is_rejected(authenticator, token):
    if token:
        assert_rejected(authenticator, token)


# --- through the real app -----------------------------------------------------------

# Header value bytes the HTTP layer can carry (no CR, LF or NUL), with and without
# a bearer scheme in front.
header_bytes = st.binary(max_size=300).filter(lambda value: not set(value) & set(b"\r\n\0"))
authorization_values = st.one_of(
    header_bytes,
    st.builds(lambda token: b"Bearer " + token.encode("utf-8"), tokens),
    st.builds(
        lambda header, payload: b"Bearer " + forged(header, payload).encode(),
        jose_headers,
        json_values,
    ),
)


@pytest.fixture
def app_client(kit, rsa_signer) -> TestClient:
    """The real app with OIDC authentication; no lifespan, so no Spanner at all."""
    kit.publish_jwks(rsa_signer)
    app = create_app(kit.settings(gc_gen0_threshold=0), configure_logs=False)
    app.state.authenticator = kit.oidc()
    return TestClient(app, raise_server_exceptions=False)


@FUZZ
@given(authorization=authorization_values)
def test_any_authorization_header_on_a_real_route_is_401_or_403(app_client, authorization):
    headers = {"authorization": authorization.strip()}
    read = app_client.get("/v1/accounts/acct-1", headers=headers)
    write = app_client.post("/v1/transfers", headers=headers, json={"id": "t"})
    assert read.status_code in (401, 403)
    assert write.status_code in (401, 403)
    assert read.headers["www-authenticate"].startswith("Bearer")
