"""``uvicorn main:app``, as the Dockerfile and Procfile serve it on Cloud Run.

One server process per scenario; the shutdown scenario runs once and each test checks
one thing about what happened: Cloud Run sends SIGTERM, waits 10 s, then kills.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.emulator

IN_FLIGHT = 20  # single-transfer requests in flight at SIGTERM: they meet in group commit
AMOUNT = 7


@pytest.fixture(scope="module")
def database(ledger_database_factory: Callable[[], str]) -> str:
    return ledger_database_factory()


@pytest.fixture(scope="module")
def server(start_server, uvicorn_argv, service_env, database):
    server = start_server(uvicorn_argv, service_env(database))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for account in ("bank", "alice"):
            created = http.post("/v1/accounts", json={"id": account, "currency": "USD"})
            assert created.status_code == 201, created.text
    return server


@pytest.fixture(scope="module")
def shutdown(server, sigterm_during_requests):
    transfers = [
        {"id": f"t-{i}", "debit_account_id": "bank", "credit_account_id": "alice", "amount": AMOUNT}
        for i in range(IN_FLIGHT)
    ]
    return sigterm_during_requests(server, [("POST", "/v1/transfers", t) for t in transfers])


def test_serves_the_api_over_http(server):
    # Runs before the shutdown scenario (module order), on the same server.
    answer = httpx.get(f"{server.url}/v1/accounts/alice", timeout=30)

    assert answer.status_code == 200
    assert answer.json()["id"] == "alice"


def test_requests_in_flight_at_sigterm_are_answered(shutdown):
    assert [answer.status for answer in shutdown.answers] == [201] * IN_FLIGHT
    assert {answer.body["id"] for answer in shutdown.answers} == {
        f"t-{i}" for i in range(IN_FLIGHT)
    }


def test_transfers_queued_in_group_commit_at_sigterm_are_committed(shutdown, database, read_back):
    assert shutdown.returncode is not None  # the server has gone: read what it left
    with read_back(database) as http:
        alice = http.get("/v1/accounts/alice").json()
        stored = [http.get(f"/v1/transfers/t-{i}").status_code for i in range(IN_FLIGHT)]

    assert stored == [200] * IN_FLIGHT
    assert alice["balance"] == IN_FLIGHT * AMOUNT


def test_exits_within_10_seconds_of_sigterm_after_a_graceful_shutdown(shutdown):
    # uvicorn re-raises the SIGTERM it caught once it has shut down, so a process that is
    # not PID 1 ends "killed by SIGTERM" (-15) rather than 0; as PID 1 (the container),
    # the re-raised signal is ignored and it exits 0 (next test).
    assert shutdown.returncode in (0, -signal.SIGTERM), shutdown.stderr
    assert shutdown.seconds_to_exit < 10
    assert "Application shutdown complete." in shutdown.stderr


def _can_unshare_pid() -> bool:
    if shutil.which("unshare") is None or not Path(f"/proc/{os.getpid()}/task").exists():
        return False
    probe = ["unshare", "--pid", "--fork", "--kill-child", "true"]
    return subprocess.run(probe, capture_output=True, check=False, timeout=30).returncode == 0


@pytest.mark.skipif(not _can_unshare_pid(), reason="needs `unshare --pid` (root, no seccomp)")
def test_exits_0_on_sigterm_as_pid_1_like_in_the_container(
    start_server: Callable[..., Any], uvicorn_argv, service_env, database
):
    server = start_server(
        ["unshare", "--pid", "--fork", "--kill-child", *uvicorn_argv], service_env(database)
    )
    pid = server.process.pid
    (child,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()

    os.kill(int(child), signal.SIGTERM)  # uvicorn, PID 1 in its namespace

    assert server.process.wait(10) == 0
