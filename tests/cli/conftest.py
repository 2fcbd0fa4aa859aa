"""The ``ledger`` command as a user runs it: the installed console script, a child
process, against the run's live server (real HTTP, real emulator)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from tests.conftest import LiveServer

LEDGER = Path(sys.executable).with_name("ledger")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Run(Protocol):
    def __call__(self, *args: str, check: bool = True) -> Result: ...


@pytest.fixture
def ledger(live_server: LiveServer) -> Run:
    def run(*args: str, check: bool = True) -> Result:
        env = {"PATH": "/usr/bin:/bin", "LEDGER_URL": live_server.url}
        done = subprocess.run(
            [str(LEDGER), *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        if check and result.code != 0:
            raise AssertionError(f"ledger {' '.join(args)} -> {result.code}: {result.err}")
        return result

    return run
