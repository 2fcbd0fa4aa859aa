from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from api.spanner.migrations import load_migrations


def test_healthz_answers_without_spanner(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_schema_version(client: TestClient, ledger_settings: Settings) -> None:
    latest = load_migrations(ledger_settings.ddl_dir)[-1].version
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema_version": latest}


def test_readyz_is_503_when_schema_is_behind(
    ledger_settings: Settings,
    empty_database_factory: Callable[[], str],
) -> None:
    settings = ledger_settings.model_copy(update={"spanner_database": empty_database_factory()})
    with TestClient(create_app(settings, configure_logs=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "schema_not_current"
    assert "retry-after" in response.headers


def test_readyz_is_503_when_database_is_missing(ledger_settings: Settings) -> None:
    settings = ledger_settings.model_copy(update={"spanner_database": "no-such-db"})
    with TestClient(create_app(settings, configure_logs=False)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "backend_unavailable"


def test_app_starts_without_touching_spanner_until_lifespan() -> None:
    settings = Settings(_env_file=None, emulator_host="127.0.0.1:1", auth_mode="none")  # type: ignore[call-arg]
    app = create_app(settings, configure_logs=False)
    assert app.state.runtime.starts == 0
