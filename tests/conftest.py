"""Test harness: one private Spanner emulator per test run, on free ports.

Started on first use and stopped (by PID) at the end of the run. Databases are cheap on
the emulator: tests that need isolation ask ``fresh_database`` for their own.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from google.cloud import spanner

from api.config import Settings
from api.spanner.admin import drop_database, ensure_instance_and_database
from api.spanner.database import build_client
from api.spanner.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
DDL_DIR = ROOT / "spanner_ddl"
TEST_PROJECT = "test-project"
TEST_INSTANCE = "test-instance"

_db_counter = itertools.count(1)


def make_settings(emulator_host: str, database: str, **overrides: object) -> Settings:
    """Settings for tests: explicit values only, never the developer's .env."""
    values: dict[str, object] = {
        "emulator_host": emulator_host,
        "project": TEST_PROJECT,
        "spanner_instance": TEST_INSTANCE,
        "spanner_database": database,
        "auth_mode": "none",
        "pool_size": 4,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        previous = os.environ.get("SPANNER_EMULATOR_HOST")
        os.environ["SPANNER_EMULATOR_HOST"] = running.address
        yield running
        if previous is None:
            os.environ.pop("SPANNER_EMULATOR_HOST", None)
        else:
            os.environ["SPANNER_EMULATOR_HOST"] = previous


@pytest.fixture(scope="session")
def spanner_client(emulator: Emulator) -> spanner.Client:
    return build_client(make_settings(emulator.address, "unused"))


@pytest.fixture(scope="session")
def empty_database_factory(
    emulator: Emulator, spanner_client: spanner.Client
) -> Iterator[Callable[[], str]]:
    """Creates a new empty database on the private emulator; returns its id."""
    created: list[str] = []

    def create() -> str:
        database_id = f"db-{os.getpid()}-{next(_db_counter)}"
        ensure_instance_and_database(spanner_client, TEST_INSTANCE, database_id)
        created.append(database_id)
        return database_id

    yield create
    for database_id in created:
        drop_database(spanner_client, TEST_INSTANCE, database_id)
