"""The two ledger scopes and where a caller's scopes come from.

A token states its scopes in ``scope`` (a space-separated string, RFC 8693/9068) or
``scp`` (a list, or a string in some issuers). Tokens with neither claim - Google ID
tokens - get theirs from the ``auth_principal_scopes`` setting. Only the ledger's own
scopes are kept, and ``ledger.write`` implies ``ledger.read``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api.config import Scope

READ: Scope = "ledger.read"
WRITE: Scope = "ledger.write"
KNOWN_SCOPES: frozenset[str] = frozenset({READ, WRITE})


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """The ledger scopes among ``scopes``, with what each implies."""
    kept = set(scopes) & KNOWN_SCOPES
    if WRITE in kept:
        kept.add(READ)
    return frozenset(kept)


def scopes_from_claims(claims: Mapping[str, Any]) -> frozenset[str] | None:
    """The scopes a token states, or None when it states none at all."""
    stated: list[str] = []
    found = False
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            stated.extend(value.split())
            found = True
        elif isinstance(value, list):
            stated.extend(item for item in value if isinstance(item, str))
            found = True
    return expand(stated) if found else None


def resolve_scopes(
    claims: Mapping[str, Any],
    *,
    principal_keys: Iterable[str],
    principal_scopes: Mapping[str, Iterable[str]],
) -> frozenset[str]:
    """The token's own scopes if it states any, else the configured ones of the first
    of ``principal_keys`` (email, then subject) that has an entry."""
    stated = scopes_from_claims(claims)
    if stated is not None:
        return stated
    for key in principal_keys:
        if key in principal_scopes:
            return expand(principal_scopes[key])
    return frozenset()
