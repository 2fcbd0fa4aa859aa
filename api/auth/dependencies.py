"""FastAPI wiring: the principal of a request, and the scope a route requires.

Routes declare ``ReaderDep`` or ``WriterDep``. The token itself was verified by
``AuthenticationMiddleware`` before the body was read; these dependencies only pick
up the principal it left on the request and check its scopes. A route the middleware
does not cover has no principal and fails closed (500), never open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from api.auth.errors import Forbidden
from api.auth.middleware import PRINCIPAL_STATE
from api.auth.principal import Principal
from api.auth.scopes import READ, WRITE
from api.config import Scope


async def get_principal(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if not isinstance(principal, Principal):
        raise RuntimeError(  # noqa: TRY004 - a wiring bug, not a caller's mistake
            f"no authenticated principal for {request.url.path}: the route is not "
            "under AuthenticationMiddleware (see api.auth.middleware)"
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_scope(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency returning the request's principal if it holds ``scope``."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.has_scope(scope):
            raise Forbidden(scope)
        return principal

    dependency.__name__ = "require_" + scope.replace(".", "_")
    return dependency


ReaderDep = Annotated[Principal, Depends(require_scope(READ))]
WriterDep = Annotated[Principal, Depends(require_scope(WRITE))]
