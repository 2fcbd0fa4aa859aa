"""The principal of a request, and the scope a route requires.

The token itself was verified by ``AuthenticationMiddleware`` before the body was read;
``authorized`` only picks up the principal it left on the request and checks its
scopes. A route the middleware does not cover has no principal and fails closed (500),
never open. Routes get it through ``api.deps``' ``ReadAccess`` / ``WriteAccess``.
"""

from __future__ import annotations

from fastapi import Request

from api.auth.errors import Forbidden
from api.auth.middleware import PRINCIPAL_STATE
from api.auth.principal import Principal
from api.config import Scope


def authorized(request: Request, scope: Scope) -> Principal:
    """The request's verified principal if it holds ``scope``; else ``Forbidden``."""
    principal = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if not isinstance(principal, Principal):
        raise RuntimeError(  # noqa: TRY004 - a wiring bug, not a caller's mistake
            f"no authenticated principal for {request.url.path}: the route is not "
            "under AuthenticationMiddleware (see api.auth.middleware)"
        )
    if not principal.has_scope(scope):
        raise Forbidden(scope)
    return principal
