"""The real app with edge settings of a test's choosing, over the run's shared database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import READ, WRITE, Authenticator, Principal
from api.config import Settings

ClientFactory = Callable[..., TestClient]


class TokenIsPrincipal(Authenticator):
    """Authentication on, minus the cryptography: the bearer token names the caller."""

    def __init__(self) -> None:
        super().__init__(verifier=None)

    @property
    def enabled(self) -> bool:
        return True

    def authenticate(self, token: str | None) -> Principal:
        name = token or "anonymous"
        return Principal(subject=name, issuer="test", scopes=frozenset({READ, WRITE}))


@pytest.fixture
def edge_client(ledger_settings: Settings) -> Iterator[ClientFactory]:
    """``edge_client(max_body_bytes=..., tokens_name_callers=True)`` -> a started client.

    Settings go through validation (``Settings(**...)``), as from the environment.
    """
    clients: list[TestClient] = []

    def start(*, tokens_name_callers: bool = False, **overrides: object) -> TestClient:
        values = ledger_settings.model_dump() | overrides
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        app = create_app(settings, configure_logs=False)
        if tokens_name_callers:
            app.state.authenticator = TokenIsPrincipal()
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)
