"""What several test trees share: the repository's paths, the emulator's test project and
instance, settings and child-process environments that never read the developer's own,
and a hand-driven clock.

Imported as ``tests.support``: pytest runs with ``--import-mode=importlib`` from the
repository root (``python -m pytest``), so ``tests`` resolves like ``api`` does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from google.cloud import spanner
from google.cloud.spanner_v1.database import Database

from api.config import Settings
from devtools.service import service_env

ROOT = Path(__file__).resolve().parent.parent
DDL_DIR = ROOT / "spanner_ddl"

# Where tests/conftest.py creates every database of the run.
TEST_PROJECT = "test-project"
TEST_INSTANCE = "test-instance"


def make_settings(emulator_host: str, database: str, **overrides: object) -> Settings:
    """Settings for tests: explicit values only, never the developer's .env."""
    values: dict[str, object] = {
        "emulator_host": emulator_host,
        "project": TEST_PROJECT,
        "spanner_instance": TEST_INSTANCE,
        "spanner_database": database,
        "auth_mode": "none",
        "pool_size": 4,
        # Tests build many apps in one process: leave its garbage collector alone.
        "gc_gen0_threshold": 0,
        # Tests that sweep expired holds ask for it; others must not race a sweeper.
        "hold_sweep_interval_seconds": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def database_handle(client: spanner.Client, database_id: str) -> Database:
    """A handle on a test database with a pool of its own that opens no sessions early."""
    return client.instance(TEST_INSTANCE).database(
        database_id, pool=spanner.BurstyPool(target_size=1)
    )


def child_env(emulator_host: str, database: str, **extra: str) -> dict[str, str]:
    """A child process's environment on ``database`` in the test instance."""
    return service_env(
        emulator_host, project=TEST_PROJECT, instance=TEST_INSTANCE, database=database, **extra
    )


def run_tool(
    module: str, emulator_host: str, database: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` from the repository root, on ``database``."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=child_env(emulator_host, database),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
