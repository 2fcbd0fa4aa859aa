"""``functions-framework --target=ledger --source=main.py --asgi``: Cloud Run functions.

The real CLI: gunicorn imports ``main`` in its master process, forks a uvicorn worker,
and the worker's Starlette app calls ``main.ledger`` for every request.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

from api.app import create_app
from api.entrypoints import make_function_target

pytestmark = pytest.mark.emulator

# gunicorn's log level also rules the worker's uvicorn log, where shutdown shows.
FF_ENV = {"GUNICORN_LOG_LEVEL": "info"}


@pytest.fixture(scope="module")
def server(start_server, functions_framework_argv, service_env, ledger_database_factory):
    return start_server(functions_framework_argv, service_env(ledger_database_factory(), **FF_ENV))


def _runtime_starts(log: str) -> int:
    messages = [json.loads(line).get("message") for line in log.splitlines() if line[:1] == "{"]
    return messages.count("runtime started")


def test_the_api_answers_through_the_function(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        created = http.post("/v1/accounts", json={"id": "ff-wallet", "currency": "USD"})
        read = http.get("/v1/accounts/ff-wallet")

    assert created.status_code == 201
    assert read.status_code == 200
    assert read.json() == created.json()


def test_the_apps_own_status_headers_and_problem_body_come_through(server):
    answer = httpx.get(f"{server.url}/v1/accounts/ff-nobody", timeout=30)

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "account_not_found"


def test_paths_the_framework_routes_itself_reach_the_app(server):
    # functions-framework claims /favicon.ico and /robots.txt; everything else, even
    # the root, is the function's.
    answer = httpx.get(f"{server.url}/", timeout=30)

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_the_runtime_starts_once_across_requests(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(3):
            assert http.get("/readyz").status_code == 200
            assert http.get("/v1/accounts", params={"page_size": 1}).status_code == 200

    # stdout holds both processes' logs: the master imported main but never started it.
    assert _runtime_starts(server.stdout()) == 1


@pytest.fixture(scope="module")
def drained(
    start_server,
    functions_framework_argv,
    service_env,
    ledger_database_factory,
    sigterm_during_requests,
):
    """A server that got SIGTERM with a transfer in flight, and the database it served."""
    database = ledger_database_factory()
    server = start_server(functions_framework_argv, service_env(database, **FF_ENV))
    for account in ("ff-bank", "ff-alice"):
        created = httpx.post(
            f"{server.url}/v1/accounts", json={"id": account, "currency": "USD"}, timeout=30
        )
        created.raise_for_status()
    transfer = {
        "id": "ff-t",
        "debit_account_id": "ff-bank",
        "credit_account_id": "ff-alice",
        "amount": 5,
    }
    return sigterm_during_requests(server, [("POST", "/v1/transfers", transfer)]), database


def test_sigterm_lets_a_transfer_in_flight_commit(drained, read_back):
    shutdown, database = drained

    assert [answer.status for answer in shutdown.answers] == [201]
    with read_back(database) as http:
        assert http.get("/v1/accounts/ff-alice").json()["balance"] == 5


def test_sigterm_ends_the_server_with_status_0(drained):
    shutdown, _ = drained

    # gunicorn's master exits 0 once its worker has drained and gone.
    assert shutdown.returncode == 0, shutdown.stderr
    assert shutdown.seconds_to_exit < 10


def test_the_function_refuses_the_flask_mode_naming_the_flag(settings_for):
    # Without --asgi, functions-framework hands the target a Flask request instead.
    ledger = make_function_target(create_app(settings_for("unused"), configure_logs=False))

    with pytest.raises(TypeError, match="--asgi"):
        ledger(object())


def test_an_error_the_app_has_answered_does_not_reach_the_framework():
    # The app's own 500 is the answer; re-raised, functions-framework would log the
    # error a second time and try to start a second response.
    app = FastAPI()
    app.state.runtime = SimpleNamespace(start=lambda: None)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/boom",
        "raw_path": b"/boom",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    async def serve():
        response = make_function_target(app)(Request(scope, receive))
        await response(scope, receive, send)

    asyncio.run(serve())

    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 500
