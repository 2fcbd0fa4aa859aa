"""Real processes for the entrypoints: servers on free ports, requests over raw sockets.

Every server runs from a scratch directory (no developer ``.env`` is read) with the
``LEDGER_*`` environment spelled out, pointed at a database of its own on the run's
emulator. Processes are stopped by PID at the end of the module that started them.
"""

from __future__ import annotations

import copy
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from devtools.emulator import free_port
from devtools.service import stop_process, wait_until_ready
from tests.support import ROOT, child_env, make_settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def service_env(emulator: Any) -> Callable[..., dict[str, str]]:
    """The environment a server process needs to serve ``database`` on the emulator."""

    def env_for(database: str, **extra: str) -> dict[str, str]:
        service = {"LEDGER_AUTH_MODE": "none", "LEDGER_POOL_SIZE": "4", "LEDGER_LOG_LEVEL": "INFO"}
        return child_env(emulator.address, database, **(service | extra))

    return env_for


class ServerProcess:
    """A server started from ``argv`` (``{port}`` filled in), its output kept in files."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="entrypoint-"))
        self.stdout_path = self.workdir / "stdout.log"
        self.stderr_path = self.workdir / "stderr.log"
        # gunicorn (under functions-framework) puts a control socket in $XDG_RUNTIME_DIR,
        # else in ~/.gunicorn: keep each server's to itself.
        env = {**env, "XDG_RUNTIME_DIR": str(self.workdir)}
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [part.format(port=self.port) for part in argv],
                cwd=self.workdir,
                env=env,
                stdout=out,
                stderr=err,
            )

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        if not wait_until_ready(self.url, self.process, timeout=timeout):
            raise RuntimeError(f"server did not become ready:\n{self.stderr()[-3000:]}")

    def wait_for_stderr(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stderr():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{text!r} never appeared:\n{self.stderr()[-3000:]}")
            time.sleep(0.02)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        stop_process(self.process, grace_seconds=15)
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def start_server() -> Iterator[Callable[[list[str], dict[str, str]], ServerProcess]]:
    """Starts a server process and waits for its /readyz; stops it after the module."""
    started: list[ServerProcess] = []

    def start(argv: list[str], env: dict[str, str]) -> ServerProcess:
        server = ServerProcess(argv, env)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class SlowRequest:
    """An HTTP request whose body is held back: in flight until ``finish()`` sends the rest.

    The server has the request line, the headers and half the body, so it has started the
    request and is waiting for the rest — a slow request, deterministically, with no
    test hook in the app.
    """

    def __init__(self, port: int, method: str, path: str, payload: Any) -> None:
        body = json.dumps(payload).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        half = len(body) // 2
        self._rest = body[half:]
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self._sock.sendall(head + body[:half])

    def send_rest(self) -> None:
        self._sock.sendall(self._rest)

    def answer(self) -> Answer:
        """Read the response (the server closes the connection after it)."""
        data = b""
        while chunk := self._sock.recv(65536):
            data += chunk
        self._sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Answer(int(status_line.split()[1]), headers, json.loads(body) if body else None)


@pytest.fixture(scope="session")
def slow_request() -> Callable[[int, str, str, Any], SlowRequest]:
    return SlowRequest


@pytest.fixture(scope="session")
def uvicorn_argv() -> list[str]:
    """How the Dockerfile and Procfile serve ``main:app`` (loopback instead of 0.0.0.0)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "main:app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--timeout-graceful-shutdown",
        "8",
    ]


@pytest.fixture(scope="session")
def functions_framework_argv() -> list[str]:
    """``functions-framework --target=ledger --source=main.py --asgi`` on a free port."""
    script = Path(sys.executable).with_name("functions-framework")
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "functions_framework"]
    return [
        *cli,
        "--target=ledger",
        f"--source={ROOT / 'main.py'}",
        "--asgi",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ]


@pytest.fixture(scope="session")
def lambda_event() -> Callable[[str], dict[str, Any]]:
    """A fresh copy of a stored Lambda event (tests/entrypoints/fixtures/<name>.json)."""
    cache: dict[str, dict[str, Any]] = {}

    def load(name: str) -> dict[str, Any]:
        if name not in cache:
            cache[name] = json.loads((FIXTURES / f"{name}.json").read_text())
        return copy.deepcopy(cache[name])

    return load


@dataclass
class Shutdown:
    """What happened when a server got SIGTERM with requests in flight."""

    answers: list[Answer]  # of the requests in flight at SIGTERM, in order
    returncode: int | None  # None: still running 10 s after SIGTERM
    seconds_to_exit: float
    stderr: str


@pytest.fixture(scope="session")
def sigterm_during_requests(
    slow_request: Callable[[int, str, str, Any], SlowRequest],
) -> Callable[[ServerProcess, list[tuple[str, str, Any]]], Shutdown]:
    """Start ``requests`` (method, path, JSON), SIGTERM the server, then let them finish.

    Each request has its headers and half its body in when SIGTERM is sent; the rest of
    every body is sent once the server says it is draining connections, so the requests
    are in flight during shutdown by construction, not by timing.
    """

    def run(server: ServerProcess, requests: list[tuple[str, str, Any]]) -> Shutdown:
        pending = [slow_request(server.port, *request) for request in requests]
        # A request sent after them and answered: the server has accepted and read theirs.
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
        server.terminate()
        signalled = time.monotonic()
        server.wait_for_stderr("Waiting for connections to close")
        for request in pending:
            request.send_rest()
        answers = [request.answer() for request in pending]
        try:
            returncode: int | None = server.process.wait(
                max(0.0, 10 - (time.monotonic() - signalled))
            )
        except subprocess.TimeoutExpired:
            returncode = None
        return Shutdown(answers, returncode, time.monotonic() - signalled, server.stderr())

    return run


@pytest.fixture(scope="session")
def settings_for(emulator: Any) -> Callable[[str], Settings]:
    """Settings for an app in this process over ``database`` on the run's emulator."""

    def build(database: str) -> Settings:
        return make_settings(emulator.address, database, pool_size=2)

    return build


@pytest.fixture(scope="session")
def read_back(
    settings_for: Callable[[str], Settings],
) -> Callable[[str], AbstractContextManager[TestClient]]:
    """The app in this process over ``database``: to read what a server process wrote."""

    @contextmanager
    def client(database: str) -> Iterator[TestClient]:
        with TestClient(create_app(settings_for(database), configure_logs=False)) as http:
            yield http

    return client
