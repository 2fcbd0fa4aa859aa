"""Scopes -> Spanner database roles: the grants in spanner_ddl/, and which role each
Spanner call of a request runs as.

The emulator neither runs CREATE ROLE/GRANT nor enforces roles, so the grants are
checked by reading the DDL (with the runner's own splitter), and the routing by
recording the role of the session behind every Spanner call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.api_core import exceptions as gexc
from google.cloud import spanner
from google.cloud.spanner_v1.snapshot import _SnapshotBase
from google.cloud.spanner_v1.transaction import Transaction
from pytest_mock import MockerFixture

from api.app import create_app
from api.config import Settings
from api.events.config import EventSettings
from api.spanner.migrations import (
    FGAC_MARKER,
    apply_migrations,
    load_migrations,
    schema_status,
)
from api.spanner.migrations.files import is_fgac_statement
from api.spanner.migrations.splitter import split_statements
from api.spanner.migrations.tables import HISTORY_TABLE, LOCK_TABLE, VERSION_TABLE
from tests.spanner.grants import Grants
from tests.support import DDL_DIR, TEST_INSTANCE, database_handle

ROLES_FILE = DDL_DIR / "0002_roles.sql"
READER = "ledger_reader"
WRITER = "ledger_writer"
RELAY = "ledger_relay"
LEDGER_TABLES = {
    "Accounts", "Transfers", "Entries", "Transactions", "AccountLabels", "TransferLabels",
}  # fmt: skip
MIGRATION_TABLES = {VERSION_TABLE, HISTORY_TABLE, LOCK_TABLE}


@pytest.fixture(scope="module")
def grants() -> Grants:
    return Grants.parse(DDL_DIR)


# --- the DDL ---------------------------------------------------------------------


def test_roles_file_carries_the_fgac_marker_on_its_first_line() -> None:
    assert ROLES_FILE.read_text().splitlines()[0] == FGAC_MARKER
    (roles,) = [m for m in load_migrations(DDL_DIR) if m.filename == ROLES_FILE.name]
    assert roles.requires_fgac


def test_both_roles_are_created_with_the_names_the_service_assumes(grants: Grants) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert {settings.reader_role, settings.writer_role} == {READER, WRITER}
    assert {READER, WRITER} <= grants.roles


def test_no_grant_gives_delete_to_anyone(grants: Grants) -> None:
    grant_statements = [s for s in grants.statements if s.lstrip().upper().startswith("GRANT")]
    assert grant_statements, "no GRANT found: did the roles migration move?"
    for statement in grant_statements:
        assert not re.search(r"\bDELETE\b", statement, re.IGNORECASE), statement
    for role in grants.roles:
        for table, privileges in grants.of(role).items():
            assert "DELETE" not in privileges, (role, table)


def test_reader_only_selects_the_ledger_and_the_schema_version(grants: Grants) -> None:
    assert grants.of(READER) == {
        "Accounts": {"SELECT"},
        "Transfers": {"SELECT"},
        "Entries": {"SELECT"},
        "Transactions": {"SELECT"},
        "AccountLabels": {"SELECT"},
        "TransferLabels": {"SELECT"},
        "Events": {"SELECT"},  # the pull feed (0012)
        "EventPartitions": {"SELECT"},  # its complete_until
        "EventFeedStarts": {"SELECT"},  # its starts_at (0014)
        VERSION_TABLE: {"SELECT"},
    }


def test_relay_reads_the_change_stream_and_writes_only_its_own_tables(grants: Grants) -> None:
    settings = EventSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_role == RELAY
    own = {"SELECT", "INSERT", "UPDATE"}
    assert grants.of(RELAY) == {
        "CHANGE STREAM LedgerChanges": {"SELECT"},
        "TABLE FUNCTION READ_LedgerChanges": {"EXECUTE"},
        "Events": own,
        "EventPartitions": own,
        "EventSinkCursors": own,
        "WebhookDeadLetters": own,
        "EventFeedStarts": own,
        VERSION_TABLE: {"SELECT"},
        HISTORY_TABLE: {"SELECT"},  # when the change stream began (0014)
    }


def test_writer_writes_exactly_what_transfers_and_new_accounts_buffer(grants: Grants) -> None:
    # Transfers UPDATE: a hold's resolution and a reversal's count (0004); Transactions
    # UPDATE: the link from a transaction to its reversal (0006).
    assert grants.of(WRITER) == {
        "Accounts": {"SELECT", "INSERT", "UPDATE"},
        "Transfers": {"SELECT", "INSERT", "UPDATE"},
        "Entries": {"SELECT", "INSERT"},
        "Transactions": {"SELECT", "INSERT", "UPDATE"},
        "AccountLabels": {"SELECT", "INSERT"},
        "TransferLabels": {"SELECT", "INSERT"},
        "Events": {"SELECT"},
        "EventPartitions": {"SELECT"},
        "EventFeedStarts": {"SELECT"},
        VERSION_TABLE: {"SELECT"},
    }


def test_no_role_may_write_the_migration_bookkeeping(grants: Grants) -> None:
    for role in grants.roles:
        for table in MIGRATION_TABLES:
            assert grants.of(role).get(table, set()) <= {"SELECT"}, (role, table)


def test_grants_name_only_tables_that_exist(grants: Grants) -> None:
    granted = {table for role in grants.roles for table in grants.of(role)}
    assert granted <= grants.tables | MIGRATION_TABLES
    assert grants.tables >= LEDGER_TABLES


# --- the emulator ------------------------------------------------------------------


@pytest.mark.emulator
def test_migrations_apply_on_the_emulator_skipping_role_statements(
    empty_database_factory: Callable[[], str], spanner_client: spanner.Client
) -> None:
    database = database_handle(spanner_client, empty_database_factory())
    lines: list[str] = []
    applied = apply_migrations(database, DDL_DIR, emulator=True, out=lines.append)
    assert ROLES_FILE.name in [m.filename for m in applied]
    role_statements = [s for s in split_statements(ROLES_FILE.read_text()) if is_fgac_statement(s)]
    notice = next(line for line in lines if line.startswith(f"{ROLES_FILE.name}: skipping"))
    assert f"skipping {len(role_statements)} fine-grained access control statement(s)" in notice
    assert f"applied {ROLES_FILE.name}" in "\n".join(lines)
    assert schema_status(database, DDL_DIR).is_current


@pytest.mark.emulator
def test_the_emulator_still_rejects_role_statements(
    empty_database_factory: Callable[[], str], spanner_client: spanner.Client
) -> None:
    """Why the runner skips them there. If this fails, the emulator learned roles:
    apply them locally too (api/spanner/migrations/files.py) and update SECURITY.md."""
    database = spanner_client.instance(TEST_INSTANCE).database(empty_database_factory())
    with pytest.raises(gexc.GoogleAPICallError, match="Unsupported ddl statement"):
        database.update_ddl(["CREATE ROLE probe_role"]).result(60)


# --- which role a request's Spanner calls run as ------------------------------------------


@dataclass(frozen=True)
class SpannerCall:
    kind: str  # read, execute_sql, commit
    role: str | None
    request: str | None  # "GET /v1/accounts" while a request is under way


class CallLog:
    def __init__(self) -> None:
        self.calls: list[SpannerCall] = []
        self.request: str | None = None

    def of(self, request: str) -> list[SpannerCall]:
        return [call for call in self.calls if call.request == request]


@pytest.fixture
def role_client(ledger_settings: Settings) -> Iterator[TestClient]:
    """The real app with one session pool per database role, as on Cloud Run."""
    settings = ledger_settings.model_copy(update={"use_database_roles": True})
    with TestClient(create_app(settings, configure_logs=False)) as client:
        yield client


@pytest.fixture
def spanner_calls(mocker: MockerFixture) -> CallLog:
    """Records the database role of the session behind every read, query and commit."""
    log = CallLog()

    def recording(kind: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            log.calls.append(SpannerCall(kind, self._session.database_role, log.request))
            return original(self, *args, **kwargs)

        return wrapper

    mocker.patch.object(_SnapshotBase, "read", recording("read", _SnapshotBase.read))
    mocker.patch.object(
        _SnapshotBase, "execute_sql", recording("execute_sql", _SnapshotBase.execute_sql)
    )
    mocker.patch.object(Transaction, "commit", recording("commit", Transaction.commit))
    return log


def request(client: TestClient, log: CallLog, method: str, path: str, **kwargs: Any) -> Any:
    # Requests are sequential, so every call until the response is this request's
    # (whichever thread makes it: the threadpool, or the group-commit writer).
    log.request = f"{method} {path}"
    try:
        return client.request(method, path, **kwargs)
    finally:
        log.request = None


@pytest.mark.emulator
def test_the_emulator_accepts_sessions_with_a_database_role(role_client: TestClient) -> None:
    databases = role_client.app.state.runtime.databases  # type: ignore[attr-defined]
    assert (databases.reader.role, databases.writer.role) == (READER, WRITER)
    assert databases.reader is not databases.writer
    assert role_client.get("/readyz").status_code == 200  # each role's pool answers


@pytest.mark.emulator
def test_reads_run_as_the_reader_and_writes_as_the_writer(
    role_client: TestClient, spanner_calls: CallLog, unique: Callable[[str], str]
) -> None:
    bank, alice = unique("bank"), unique("alice")
    for account in (bank, alice):
        response = request(
            role_client, spanner_calls, "POST", "/v1/accounts",
            json={"id": account, "currency": "USD"},
        )  # fmt: skip
        assert response.status_code == 201
    transfer = {"id": unique("t"), "debit_account_id": bank, "credit_account_id": alice,
                "amount": 5}  # fmt: skip
    response = request(role_client, spanner_calls, "POST", "/v1/transfers", json=transfer)
    assert response.status_code == 201
    reads = [
        f"/v1/accounts/{alice}",
        f"/v1/balances?account_ids={alice},{bank}",
        f"/v1/accounts/{alice}/entries",
        "/v1/accounts",
        f"/v1/transfers/{transfer['id']}",
    ]
    for path in reads:
        assert request(role_client, spanner_calls, "GET", path).status_code == 200, path

    for path in reads:
        calls = spanner_calls.of(f"GET {path}")
        assert calls, path
        assert {call.role for call in calls} == {READER}, path
        assert "commit" not in {call.kind for call in calls}, path
    for path in ("/v1/accounts", "/v1/transfers"):
        calls = spanner_calls.of(f"POST {path}")
        assert "commit" in {call.kind for call in calls}, path
        assert {call.role for call in calls} == {WRITER}, path


@pytest.mark.emulator
def test_group_committed_transfers_run_as_the_writer(
    role_client: TestClient, spanner_calls: CallLog, unique: Callable[[str], str]
) -> None:
    """Group commit runs on its own thread, outside any request: still the writer."""
    bank, alice = unique("bank"), unique("alice")
    for account in (bank, alice):
        role_client.post("/v1/accounts", json={"id": account, "currency": "USD"})
    spanner_calls.calls.clear()
    response = role_client.post(
        "/v1/transfers",
        json={"id": unique("t"), "debit_account_id": bank, "credit_account_id": alice,
              "amount": 1},
    )  # fmt: skip
    assert response.status_code == 201
    assert spanner_calls.calls
    assert {call.role for call in spanner_calls.calls} == {WRITER}
