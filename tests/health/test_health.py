from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient
from pytest_mock import MockerFixture

from api.app import create_app
from api.config import Settings
from api.spanner.migrations import load_migrations

THREADPOOL_SIZE = 40  # anyio's default for sync endpoints and dependencies


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


def test_healthz_answers_while_every_worker_thread_waits_on_spanner(
    live_server_factory: Callable[..., Any], mocker: MockerFixture
) -> None:
    server = live_server_factory()
    release = threading.Event()
    stuck = threading.Semaphore(0)

    def get_account_stuck(*args: object, **kwargs: object) -> None:
        stuck.release()  # a threadpool thread is now waiting, as on a blackholed Spanner
        release.wait(20)

    mocker.patch("api.accounts.service.get_account", side_effect=get_account_stuck)
    threads = THREADPOOL_SIZE + 5  # more blocked requests than threads to run them
    with ThreadPoolExecutor(threads) as callers:
        blocked = [
            callers.submit(httpx.get, f"{server.url}/v1/accounts/a{i}", timeout=30)
            for i in range(threads)
        ]
        for _ in range(THREADPOOL_SIZE):
            assert stuck.acquire(timeout=20)  # every threadpool thread is now waiting
        try:
            response = httpx.get(f"{server.url}/healthz", timeout=2)
            assert response.status_code == 200
        finally:
            release.set()
        for future in blocked:
            future.result()
