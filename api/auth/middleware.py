"""Authentication before the body: the bearer token of every /v1 request is verified
by a pure ASGI middleware, before FastAPI reads and parses the request body.

FastAPI reads and parses a route's whole JSON body before it solves the route's
dependencies, so a dependency that checks the token lets any anonymous caller make
the worker parse megabytes of JSON first (docs/SECURITY.md has the numbers). Here a
request without a valid token gets its 401 (or the 503 of unreachable keys) without
``receive`` ever being called. The verified ``Principal`` is left on the ASGI scope's
``state`` for ``get_principal``; the scope checks stay in the route dependencies.

The ``Authenticator`` is looked up per request on ``app.state.authenticator`` (tests
swap it after ``create_app``). Pure ASGI, not ``BaseHTTPMiddleware``: that one breaks
context variables and streaming.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth.authenticator import Authenticator
from api.auth.principal import Principal
from api.context import find_record
from api.errors import LedgerError, problem_response

PROTECTED_PREFIX = "/v1"
# Where the middleware leaves the principal, under the ASGI scope's "state".
PRINCIPAL_STATE = "principal"

_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

BEARER_SCHEME_NAME = "BearerToken"
BEARER_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": "A Google-signed ID token, or an OIDC token from the configured issuer.",
}


def is_protected(path: str, prefix: str = PROTECTED_PREFIX) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def bearer_token(scope: Scope) -> str | None:
    """The credentials of ``Authorization: Bearer <token>``, else None (no header, or
    another scheme), parsed as FastAPI's ``HTTPBearer`` does."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def get_authenticator(scope: Scope) -> Authenticator:
    app = scope.get("app")
    authenticator = getattr(getattr(app, "state", None), "authenticator", None)
    if not isinstance(authenticator, Authenticator):
        raise RuntimeError("app.state.authenticator is not set (see api.auth)")  # noqa: TRY004
    return authenticator


async def authenticate(authenticator: Authenticator, token: str | None) -> Principal:
    if authenticator.needs_io(token):
        # A key fetch may block for seconds: keep it off the event loop.
        return await run_in_threadpool(authenticator.authenticate, token)
    # Cached keys: a signature check is CPU only, cheaper than a thread hop.
    return authenticator.authenticate(token)


class AuthenticationMiddleware:
    """Verify the bearer token of requests under ``prefix`` before the app runs."""

    def __init__(self, app: ASGIApp, *, prefix: str = PROTECTED_PREFIX) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_protected(scope.get("path", ""), self.prefix):
            await self.app(scope, receive, send)
            return
        try:
            principal = await authenticate(get_authenticator(scope), bearer_token(scope))
        except LedgerError as error:
            await problem_response(error, instance=scope.get("path"))(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        record = find_record(scope)  # the request log names its caller
        if record is not None:
            record.principal = principal.name
        await self.app(scope, receive, send)


def declare_bearer_security(schema: dict[str, Any], *, prefix: str = PROTECTED_PREFIX) -> None:
    """Declare the bearer scheme on ``schema`` (an OpenAPI document) and require it on
    every operation under ``prefix``: the token is a security scheme, not a parameter."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[BEARER_SCHEME_NAME] = BEARER_SCHEME
    for path, item in schema.get("paths", {}).items():
        if is_protected(path, prefix):
            for method, operation in item.items():
                if method in _HTTP_METHODS:
                    operation["security"] = [{BEARER_SCHEME_NAME: []}]
