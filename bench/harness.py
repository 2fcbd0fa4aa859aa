"""A private emulator, databases with the schema applied, and the service as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from google.cloud import spanner

from api.config import Settings
from api.spanner.migrations import apply_migrations
from api.storage import build_client
from devtools.admin import ensure_instance_and_database
from devtools.emulator import free_port
from devtools.service import wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
# The process serving each URL that service() started: for bench/cpu.py.
SERVICE_PIDS: dict[str, int] = {}
PROJECT, INSTANCE = "bench-project", "bench"


def bench_settings(emulator_host: str, database: str, **overrides: Any) -> Settings:
    return Settings(
        _env_file=None, emulator_host=emulator_host, project=PROJECT,
        spanner_instance=INSTANCE, spanner_database=database, auth_mode="none", **overrides,
    )  # fmt: skip


def create_database(emulator_host: str, database: str) -> Settings:
    settings = bench_settings(emulator_host, database)
    client = build_client(settings)
    ensure_instance_and_database(client, INSTANCE, database)
    handle = client.instance(INSTANCE).database(database, pool=spanner.BurstyPool())
    apply_migrations(handle, settings.ddl_dir, emulator=True, out=lambda _: None)
    return settings


@contextmanager
def service(
    emulator_host: str,
    database: str,
    env: dict[str, str],
    *,
    log_path: Path | None = None,
    uvicorn_args: tuple[str, ...] = (),
    root: Path = ROOT,
) -> Iterator[str]:
    """The real service (uvicorn, one worker, as on Cloud Run) on a free port.

    It logs as deployed (INFO: one JSON line per request, the default of
    LEDGER_LOG_LEVEL and infra's log_level), so every figure includes that line: to
    ``log_path``, or to a temporary file dropped afterwards.
    """
    port = free_port()
    process_env = {
        **os.environ,
        "SPANNER_EMULATOR_HOST": emulator_host,
        "LEDGER_PROJECT": PROJECT,
        "LEDGER_SPANNER_INSTANCE": INSTANCE,
        "LEDGER_SPANNER_DATABASE": database,
        "LEDGER_AUTH_MODE": "none",
        "LEDGER_LOG_LEVEL": "INFO",
        # All load comes from one local principal; the per-principal limit would
        # measure itself instead of the ledger.
        "LEDGER_RATE_LIMIT_PER_SECOND": "0",
        **env,
    }
    log = log_path.open("w+") if log_path else tempfile.TemporaryFile("w+")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning", *uvicorn_args],
        cwd=root, env={**process_env, "PYTHONPATH": str(root)}, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ready(url, server, interval=0.2, request_timeout=2):
            log.seek(0)
            raise RuntimeError(f"service did not become ready; its output:\n{log.read()[-4000:]}")
        SERVICE_PIDS[url] = server.pid
        yield url
    finally:
        server.terminate()
        server.wait(15)
        log.close()


@contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """``rev`` in a temporary git worktree (to serve it), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-rev-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), rev],
                       cwd=ROOT, check=True)  # fmt: skip
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)],
                           cwd=ROOT, check=False)  # fmt: skip


def open_accounts(url: str, count: int, prefix: str) -> list[str]:
    ids = [f"{prefix}-{i:04d}" for i in range(count)]
    with httpx.Client(base_url=url, timeout=30) as http:
        for account_id in ids:
            response = http.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
            response.raise_for_status()
    return ids
