"""FastAPI wiring: the principal of a request, and the scope a route requires.

Routes declare ``ReaderDep`` or ``WriterDep``; both resolve (once per request) the
``Authenticator`` that ``create_app`` put on ``app.state.authenticator``. With the
signing keys cached, verification is a signature check done on the event loop; when
it may have to fetch keys, it runs in the threadpool instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.auth.authenticator import Authenticator
from api.auth.errors import Forbidden
from api.auth.principal import Principal
from api.auth.scopes import READ, WRITE
from api.config import Scope
from api.context import find_record

# Parses ``Authorization: Bearer ...`` and declares the scheme on the OpenAPI document.
# auto_error=False: a missing token is our own 401 problem, not FastAPI's.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    description="A Google-signed ID token, or an OIDC token from the configured issuer.",
)


def get_authenticator(request: Request) -> Authenticator:
    authenticator = getattr(request.app.state, "authenticator", None)
    if not isinstance(authenticator, Authenticator):
        raise RuntimeError("app.state.authenticator is not set (see api.auth)")  # noqa: TRY004
    return authenticator


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    token = credentials.credentials if credentials is not None else None
    authenticator = get_authenticator(request)
    if authenticator.needs_io(token):
        # A key fetch may block for seconds: keep it off the event loop.
        principal = await run_in_threadpool(authenticator.authenticate, token)
    else:
        # Cached keys: a signature check is ~0.1 ms of CPU, cheaper than a thread hop.
        principal = authenticator.authenticate(token)
    record = find_record(request.scope)
    if record is not None:
        record.principal = principal.name
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
