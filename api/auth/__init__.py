"""Who may call the ledger: bearer-token verification, principals and scopes.

Wiring (in ``create_app``)::

    app.state.authenticator = Authenticator.from_settings(settings)  # runs check_auth_startup
    app.user_middleware.append(Middleware(AuthenticationMiddleware))  # verifies /v1 tokens

Routes then declare ``ReadAccess`` / ``WriteAccess`` (api.deps: ``authorized``, the scope
check on the principal the middleware verified, among the rest of what a route needs),
and list ``*AUTH_ERRORS`` in their ``responses=problem_responses(...)``.
"""

from api.auth.authenticator import Authenticator, check_auth_startup
from api.auth.dependencies import authorized
from api.auth.errors import AUTH_ERRORS, Forbidden, SigningKeysUnavailable, Unauthenticated
from api.auth.middleware import AuthenticationMiddleware
from api.auth.principal import LOCAL_PRINCIPAL, Principal
from api.auth.scopes import READ, WRITE

__all__ = [
    "AUTH_ERRORS",
    "LOCAL_PRINCIPAL",
    "READ",
    "WRITE",
    "AuthenticationMiddleware",
    "Authenticator",
    "Forbidden",
    "Principal",
    "SigningKeysUnavailable",
    "Unauthenticated",
    "authorized",
    "check_auth_startup",
]
