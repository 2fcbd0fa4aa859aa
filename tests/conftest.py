"""Test harness: one private Spanner emulator per test run, on free ports.

Started on first use and stopped (by PID) at the end of the run. Databases are cheap on
the emulator: tests that need isolation ask ``fresh_client`` or
``ledger_database_factory`` for their own.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import pytest
import uvicorn
from fastapi.testclient import TestClient
from google.cloud import spanner

from api.app import create_app
from api.config import Settings
from api.spanner.migrations import apply_migrations
from api.storage import build_client
from devtools.admin import drop_database, ensure_instance_and_database
from devtools.emulator import Emulator, free_port
from devtools.testdeps import SPANNER_EMULATOR_ENV
from tests.support import DDL_DIR, TEST_INSTANCE, database_handle, make_settings

_db_counter = itertools.count(1)


class ExternalEmulator:
    """An emulator somebody else runs (LEDGER_TEST_EMULATOR_HOST or
    LEDGER_TEST_PUBSUB_EMULATOR_HOST: the containers beside the build's test step)."""

    def __init__(self, address: str) -> None:
        self.address = address


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator | ExternalEmulator]:
    external = os.environ.get(SPANNER_EMULATOR_ENV)
    if external:
        os.environ["SPANNER_EMULATOR_HOST"] = external
        yield ExternalEmulator(external)
        return
    with Emulator() as running:
        previous = os.environ.get("SPANNER_EMULATOR_HOST")
        os.environ["SPANNER_EMULATOR_HOST"] = running.address
        yield running
        if previous is None:
            os.environ.pop("SPANNER_EMULATOR_HOST", None)
        else:
            os.environ["SPANNER_EMULATOR_HOST"] = previous


@pytest.fixture(scope="session")
def spanner_client(emulator: Emulator | ExternalEmulator) -> spanner.Client:
    return build_client(make_settings(emulator.address, "unused"))


# The fixture being set up, if a database is made for one: it is dropped when that
# fixture is torn down, not at the end of the run. The emulator holds at most 100
# databases per instance, and in a shuffled order (--random-order-bucket=global) a
# module's fixtures are set up again each time the order comes back to the module. (One
# made by a test itself is dropped by the test, or at the end of the run.)
_owner: ContextVar[Callable[[Callable[[], object]], None] | None] = ContextVar(
    "database_owner", default=None
)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object]) -> Iterator[object]:
    token = _owner.set(fixturedef.addfinalizer)
    try:
        return (yield)
    finally:
        _owner.reset(token)


@pytest.fixture(scope="session")
def empty_database_factory(
    emulator: Emulator | ExternalEmulator, spanner_client: spanner.Client
) -> Iterator[Callable[[], str]]:
    """Creates a new empty database on the private emulator; returns its id. It is
    dropped with the fixture that asked for it (or at the end of the run)."""
    created: list[str] = []

    def create() -> str:
        database_id = f"db{os.getpid()}-{next(_db_counter)}"
        ensure_instance_and_database(spanner_client, TEST_INSTANCE, database_id)
        created.append(database_id)
        owner = _owner.get()
        if owner is not None:
            owner(lambda: drop_database(spanner_client, TEST_INSTANCE, database_id))
        return database_id

    yield create
    for database_id in created:
        drop_database(spanner_client, TEST_INSTANCE, database_id)


@pytest.fixture(scope="session")
def ledger_database_factory(
    empty_database_factory: Callable[[], str], spanner_client: spanner.Client
) -> Callable[[], str]:
    """Creates a new database with every migration in spanner_ddl/ applied."""

    def create() -> str:
        database_id = empty_database_factory()
        database = database_handle(spanner_client, database_id)
        apply_migrations(database, DDL_DIR, emulator=True, out=lambda _line: None)
        return database_id

    return create


@pytest.fixture(scope="session")
def ledger_settings(
    emulator: Emulator | ExternalEmulator, ledger_database_factory: Callable[[], str]
) -> Settings:
    """Settings for the run's shared ledger database (tests use unique ids in it)."""
    return make_settings(emulator.address, ledger_database_factory())


@pytest.fixture(scope="session")
def client(ledger_settings: Settings) -> Iterator[TestClient]:
    """The real app over the shared database; one per run (its pool stays warm)."""
    with TestClient(create_app(ledger_settings, configure_logs=False)) as test_client:
        yield test_client


@pytest.fixture
def fresh_client(
    emulator: Emulator | ExternalEmulator,
    ledger_database_factory: Callable[[], str],
    spanner_client: spanner.Client,
) -> Iterator[TestClient]:
    """The real app over a database of its own, for tests that see every row. The
    database is dropped after the test: the emulator holds at most 100 per instance."""
    settings = make_settings(emulator.address, ledger_database_factory())
    with TestClient(create_app(settings, configure_logs=False)) as test_client:
        yield test_client
    drop_database(spanner_client, TEST_INSTANCE, settings.spanner_database)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Makes ids no other test uses: unique("acct") -> "acct-3f2a..."."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:16]}"


class LiveServer:
    """The real app served by uvicorn in a thread, reached over real HTTP."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, configure_logs=False),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def live_server_factory(
    emulator: Emulator | ExternalEmulator, ledger_database_factory: Callable[[], str]
) -> Iterator[Callable[..., LiveServer]]:
    """Starts the app on a free port over a fresh database; settings overridable."""
    servers: list[LiveServer] = []

    def start(**overrides: object) -> LiveServer:
        settings = make_settings(emulator.address, ledger_database_factory(), **overrides)
        server = LiveServer(settings).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


@pytest.fixture(scope="session")
def live_server(
    emulator: Emulator | ExternalEmulator, ledger_database_factory: Callable[[], str]
) -> Iterator[LiveServer]:
    """One app on a free port over a database of its own, shared by the tests of the
    client, the CLI and the explorer (they use unique ids, as over ``client``)."""
    with LiveServer(make_settings(emulator.address, ledger_database_factory())) as server:
        yield server


@pytest.fixture
def pair(client: TestClient, unique: Callable[[str], str]) -> tuple[str, str]:
    """Two open USD accounts of the shared database."""
    ids = unique("acct"), unique("acct")
    for account_id in ids:
        assert client.post("/v1/accounts", json={"id": account_id, "currency": "USD"}).is_success
    return ids
