"""Schemathesis against the served OpenAPI document: what the document declares is what
the service enforces. Negative data (a wrong type, a value outside its bounds, a
missing required field) must be refused with a 4xx, a method a path does not declare
must be a 405, and nothing may be a 5xx.

Its CLI runs in a child process against a real service (uvicorn in a thread, a database
of its own on the emulator, seeded with an account, a transfer, a hold and a pending
transaction whose ids every path parameter takes, so that requests reach the ledger's
logic rather than a 404), bounded in examples per operation and seeded, so the suite
stays fast and reproducible. The failing cases are in the assertion's message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

CHECKS = "negative_data_rejection,unsupported_method,not_a_server_error"
EXAMPLES_PER_OPERATION = 25
SEED = 22


def seed(url: str) -> dict[str, str]:
    """The ids path parameters take: rows that exist, so calls get past the lookup."""
    with httpx.Client(base_url=url) as http:
        for account_id in ("alice", "bank"):
            http.post("/v1/accounts", json={"id": account_id, "currency": "USD"}).raise_for_status()
        move = {"debit_account_id": "bank", "credit_account_id": "alice"}
        http.post("/v1/transfers", json={"id": "t-1", **move, "amount": 10_000}).raise_for_status()
        hold = {"id": "h-1", **move, "amount": 10, "pending": True, "timeout_seconds": 3600}
        http.post("/v1/transfers", json=hold).raise_for_status()
        legs = [{**move, "amount": 5}]
        transaction = {"id": "x-1", "legs": legs, "pending": True}
        http.post("/v1/transactions", json=transaction).raise_for_status()
    return {"account_id": "alice", "transfer_id": "h-1", "transaction_id": "x-1"}


def test_the_service_enforces_what_its_openapi_declares(
    live_server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = live_server_factory()
    config = tmp_path / "schemathesis.toml"
    lines = [f'"path.{name}" = "{value}"' for name, value in seed(server.url).items()]
    config.write_text("[parameters]\n" + "\n".join(lines) + "\n")
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", f"{server.url}/openapi.json", "--checks", CHECKS, "--mode", "all",
        "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--seed", str(SEED), "--no-shrink", "--workers", "1", "--request-timeout", "30",
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    # Run in tmp_path: the CLI keeps a cache of crashes in its working directory.
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ),
                            cwd=tmp_path, timeout=600, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
