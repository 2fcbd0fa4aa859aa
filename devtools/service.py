"""The service as a child process of the tests and benchmarks: its environment, and
waiting for it to answer ``GET /readyz``."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def service_env(
    emulator_host: str, *, project: str, instance: str, database: str, **extra: str
) -> dict[str, str]:
    """The environment of a child process (a server, the migrations CLI) on ``database``.

    This process's own environment without any ``LEDGER_*`` or serverless runtime
    variable (``FUNCTION_*``, ``GUNICORN_*``, ``K_SERVICE``), pointed at the emulator,
    with ``extra`` on top.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LEDGER_", "FUNCTION_", "GUNICORN_")) and name != "K_SERVICE"
    }
    env.update(
        PYTHONPATH=str(ROOT),
        SPANNER_EMULATOR_HOST=emulator_host,
        LEDGER_PROJECT=project,
        LEDGER_SPANNER_INSTANCE=instance,
        LEDGER_SPANNER_DATABASE=database,
    )
    env.update(extra)
    return env


def wait_until_ready(
    url: str,
    process: subprocess.Popen[Any],
    *,
    timeout: float = 60,
    interval: float = 0.05,
    request_timeout: float = 5,
) -> bool:
    """Polls ``{url}/readyz`` until it answers 200 (True), or ``process`` has exited or
    ``timeout`` seconds have passed (False: the caller says why, with what it knows)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=request_timeout).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(interval)


def stop_process(process: subprocess.Popen[Any], *, grace_seconds: float) -> None:
    """SIGTERM, as a platform stops a worker; SIGKILL if it is not gone in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace_seconds)
