"""Fault tests: the service as a real uvicorn process, its Spanner traffic through a proxy.

The database is created and migrated through the emulator's own address; the service
reaches the emulator only through a ``FaultProxy`` (tests/faults/proxy.py), so the test
decides what the network does. Each server process can dump every thread's stack on
SIGUSR1 (``faulthandler``) into its stderr, which failure messages quote.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.cloud import spanner

from devtools.emulator import free_port
from devtools.service import stop_process
from tests.faults.proxy import FaultProxy
from tests.support import ROOT, TEST_INSTANCE

# uvicorn's own CLI, as the Dockerfile runs it, with a stack dump on SIGUSR1 first.
_SERVE = (
    "import faulthandler, signal, sys, uvicorn;"
    "faulthandler.register(signal.SIGUSR1, all_threads=True);"
    "sys.argv[0] = 'uvicorn';"
    "uvicorn.main()"
)


class FaultServer:
    """``uvicorn main:app`` on a free port, its output kept in files."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="faults-"))
        self.stdout_path = self.workdir / "stdout.log"  # the JSON logs
        self.stderr_path = self.workdir / "stderr.log"  # uvicorn's own, and stack dumps
        argv = [sys.executable, "-c", _SERVE, "main:app", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--timeout-graceful-shutdown", "3"]
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(argv, cwd=self.workdir, env=env, stdout=out, stderr=err)
        self.pid = self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not become ready:\n{self.stderr()[-3000:]}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.process.poll() is None

    def thread_dump(self) -> str:
        """The stacks of the threads that are inside ``api/`` code (faulthandler, SIGUSR1)."""
        if not self.alive():
            return f"(server exited with {self.process.returncode})"
        before = self.stderr_path.stat().st_size
        self.process.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        with self.stderr_path.open("rb") as err:
            err.seek(before)
            text = err.read().decode(errors="replace")
        threads = [block for block in text.split("\n\n") if f"{ROOT}/api/" in block]
        return "\n\n".join(threads) or text

    def logged_errors(self, limit: int = 3) -> str:
        """The last few distinct ERROR/WARNING log lines with their stack traces."""
        seen: dict[str, str] = {}
        for line in self.stdout_path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("severity") not in ("ERROR", "WARNING", "CRITICAL"):
                continue
            trace = record.get("stack_trace", "")
            key = f"{record.get('message')}|{trace.splitlines()[-1] if trace else ''}"
            seen.pop(key, None)
            seen[key] = f"{record['severity']} {record.get('message')}\n{trace}".rstrip()
        return "\n---\n".join(list(seen.values())[-limit:]) or "(none)"

    def stop(self) -> None:
        stop_process(self.process, grace_seconds=8)
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def proxy(emulator: Any) -> Iterator[FaultProxy]:
    """A proxy in front of the run's emulator, one per module (it ends in ``pass``)."""
    with FaultProxy(emulator.address) as running:
        yield running


@pytest.fixture(scope="module")
def start_fault_server(
    spanner_client: spanner.Client,
    ledger_database_factory: Callable[[], str],
) -> Iterator[Callable[..., FaultServer]]:
    """``start(proxy, LEDGER_X=...)``: a server on a fresh migrated database, via ``proxy``."""
    started: list[FaultServer] = []

    def start(proxy: FaultProxy, **extra: str) -> FaultServer:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("LEDGER_", "FUNCTION_", "GUNICORN_")) and name != "K_SERVICE"
        }
        env.update(
            PYTHONPATH=str(ROOT),
            SPANNER_EMULATOR_HOST=proxy.address,
            LEDGER_PROJECT=spanner_client.project,
            LEDGER_SPANNER_INSTANCE=TEST_INSTANCE,
            LEDGER_SPANNER_DATABASE=ledger_database_factory(),
            LEDGER_AUTH_MODE="none",
            LEDGER_LOG_LEVEL="INFO",
        )
        env.update(extra)
        server = FaultServer(env)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()
