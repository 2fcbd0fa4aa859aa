"""Verifying a bearer token (a JWT): algorithm, signature, then its claims.

The same verifier serves both modes; they differ only in where the keys come from and
which issuers are accepted:

- ``google``: Google-signed ID tokens (Cloud Run invokers, service accounts), keys from
  Google's certificate endpoint, issuer ``https://accounts.google.com`` or
  ``accounts.google.com``;
- ``oidc``: any OpenID Connect provider, keys from its JWKS, its one issuer.

Verification is PyJWT's, given the key and the algorithms *that key* may verify: the
token's ``alg`` header only selects among those, never widens them (RFC 8725 §2.1).
``exp``, ``iat``, ``aud``, ``iss`` and ``sub`` are required; ``exp``, ``iat`` and
``nbf`` are checked with a small leeway for clock skew.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jwt

from api.auth.errors import Unauthenticated
from api.auth.keys import ALLOWED_ALGORITHMS, RemoteKeySet

GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
REQUIRED_CLAIMS = ("exp", "iat", "aud", "iss", "sub")
# Far above any real ID token (~1 KB); refuses to spend CPU on megabyte "tokens".
MAX_TOKEN_LENGTH = 16 * 1024

MALFORMED = "malformed token"

# Most specific first: PyJWT's exceptions form a hierarchy.
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidSignatureError, "invalid signature"),
    (jwt.InvalidAlgorithmError, "unsupported algorithm"),
)


def read_header(token: str) -> tuple[str, str | None]:
    """The token's ``alg`` and ``kid``, checked before any key lookup, so that alg=none,
    HS256 or a header of the wrong shape never costs a fetch.

    The header is attacker-controlled JSON: every member may be of any JSON type, so
    each is type-checked before it is compared, hashed or looked up.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated(MALFORMED)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated(MALFORMED) from None
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise Unauthenticated("unsupported algorithm")
    if kid is not None and not isinstance(kid, str):
        raise Unauthenticated(MALFORMED)
    return alg, kid


class TokenVerifier:
    """Turns a token into its verified claims, or raises ``Unauthenticated``."""

    def __init__(
        self,
        *,
        keys: RemoteKeySet,
        audience: str,
        issuers: Iterable[str],
        leeway_seconds: float,
    ) -> None:
        self.keys = keys
        self.audience = audience
        self.issuers = frozenset(issuers)
        self.leeway_seconds = leeway_seconds

    def verify(self, token: str) -> dict[str, Any]:
        alg, kid = read_header(token)
        key = self.keys.key_for(kid)
        if key is None:
            raise Unauthenticated("unknown signing key")
        if alg not in key.algorithms:
            raise Unauthenticated("algorithm does not match the signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=sorted(key.algorithms),
                audience=self.audience,
                issuer=self.issuers,
                leeway=self.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"missing {exc.claim} claim") from None
        except jwt.PyJWTError as exc:
            reason = next((text for kind, text in _REASONS if isinstance(exc, kind)), MALFORMED)
            raise Unauthenticated(reason) from None
        return claims
