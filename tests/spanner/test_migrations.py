"""The migration runner against the real Spanner emulator (faults injected with mocks)."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import spanner
from google.cloud.spanner_v1.database import Database
from pytest_mock import MockerFixture

from api.spanner.migrations import (
    FGAC_MARKER,
    ChecksumMismatchError,
    DirtyDatabaseError,
    LockTimeoutError,
    MigrationError,
    apply_migrations,
    force_version,
    load_migrations,
    schema_status,
)
from api.spanner.migrations.state import read_applied_times
from tests.support import DDL_DIR, database_handle

pytestmark = pytest.mark.emulator

FILES = {
    "0001_singers.sql": "-- Singers.\nCREATE TABLE Singers (\n  Id INT64 NOT NULL,\n"
    "  Name STRING(MAX),\n) PRIMARY KEY (Id);\n",
    "0002_singers_by_name.sql": "CREATE INDEX SingersByName ON Singers (Name);",
    "0003_albums.sql": "CREATE TABLE Albums (Id INT64 NOT NULL, SingerId INT64) "
    "PRIMARY KEY (Id);\n# and its index\nCREATE INDEX AlbumsBySinger ON Albums (SingerId);",
}


# --- helpers ------------------------------------------------------------------------


def write_files(ddl_dir: Path, files: dict[str, str]) -> Path:
    ddl_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (ddl_dir / name).write_text(text)
    return ddl_dir


def quiet(_line: str) -> None:
    pass


def query(database: Database, sql: str) -> list[list[Any]]:
    with database.snapshot() as snapshot:
        return [list(row) for row in snapshot.execute_sql(sql)]


def version_rows(database: Database) -> list[list[Any]]:
    return query(database, "SELECT Version, Dirty FROM SchemaMigrations")


def schema(database: Database) -> list[str]:
    database.reload()
    return list(database.ddl_statements)


def set_state(
    database: Database, version: int, *, dirty: bool, owner: str | None, expires_in: float
) -> None:
    """Write the bookkeeping by hand, as a runner (live or dead) would have left it."""

    def write(tx: Any) -> None:
        tx.delete("SchemaMigrations", spanner.KeySet(all_=True))
        tx.insert("SchemaMigrations", ["Version", "Dirty"], [[version, dirty]])
        expiry = datetime.now(UTC) + timedelta(seconds=expires_in)
        tx.insert_or_update(
            "SchemaMigrationsLock", ["ID", "LockIdentifier", "Expiry"], [[None, owner, expiry]]
        )

    database.run_in_transaction(write)


@pytest.fixture
def open_database(spanner_client: spanner.Client) -> Callable[[str], Database]:
    """Another handle (own session pool) on a database, as another runner would have."""

    def open_(database_id: str) -> Database:
        return database_handle(spanner_client, database_id)

    return open_


@pytest.fixture
def database(
    empty_database_factory: Callable[[], str], open_database: Callable[[str], Database]
) -> Database:
    return open_database(empty_database_factory())


@pytest.fixture
def ddl_dir(tmp_path: Path) -> Path:
    return write_files(tmp_path / "ddl", FILES)


# --- files ----------------------------------------------------------------------------


def test_files_load_in_version_order_with_checksums(ddl_dir: Path) -> None:
    migrations = load_migrations(ddl_dir)
    assert [(m.version, m.name) for m in migrations] == [
        (1, "singers"),
        (2, "singers_by_name"),
        (3, "albums"),
    ]
    assert migrations[2].statements == (
        "CREATE TABLE Albums (Id INT64 NOT NULL, SingerId INT64) PRIMARY KEY (Id)",
        "CREATE INDEX AlbumsBySinger ON Albums (SingerId)",
    )
    assert len(migrations[0].checksum) == 64


@pytest.mark.parametrize(
    "name", ["1_singers.sql", "0004-albums.sql", "0004_Albums.sql", "0004_.sql", "0004_x.SQL"]
)
def test_badly_named_file_is_refused(ddl_dir: Path, name: str) -> None:
    (ddl_dir / name).write_text("DROP TABLE X;")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        load_migrations(ddl_dir)


def test_files_that_are_not_sql_are_ignored(ddl_dir: Path) -> None:
    (ddl_dir / "README.md").write_text("# notes")
    (ddl_dir / ".0004_draft.sql").write_text("DROP TABLE X;")
    assert len(load_migrations(ddl_dir)) == 3


def test_gap_in_versions_is_refused(ddl_dir: Path) -> None:
    (ddl_dir / "0005_later.sql").write_text("DROP TABLE X;")
    with pytest.raises(
        MigrationError, match=r"version 0004 is missing: 0005_later\.sql comes after"
    ):
        load_migrations(ddl_dir)


def test_versions_start_at_0001(tmp_path: Path) -> None:
    write_files(tmp_path, {"0002_first.sql": "DROP TABLE X;"})
    with pytest.raises(MigrationError, match=r"version 0001 is missing"):
        load_migrations(tmp_path)


def test_duplicate_version_is_refused(ddl_dir: Path) -> None:
    (ddl_dir / "0002_other.sql").write_text("DROP TABLE X;")
    with pytest.raises(MigrationError, match=r"both have version 0002"):
        load_migrations(ddl_dir)


def test_file_without_statements_is_refused(ddl_dir: Path) -> None:
    (ddl_dir / "0004_empty.sql").write_text("-- to do\n")
    with pytest.raises(MigrationError, match=r"0004_empty\.sql holds no statement"):
        load_migrations(ddl_dir)


def test_unterminated_string_is_refused_with_file_and_line(ddl_dir: Path) -> None:
    (ddl_dir / "0004_broken.sql").write_text("DROP TABLE X;\nSELECT 'oops;\n")
    with pytest.raises(MigrationError, match=r"0004_broken\.sql: line 2: unterminated string"):
        load_migrations(ddl_dir)


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match=r"does not exist"):
        load_migrations(tmp_path / "nowhere")


def test_role_statement_without_marker_is_refused(ddl_dir: Path) -> None:
    (ddl_dir / "0004_roles.sql").write_text(
        "CREATE ROLE reader;\nGRANT SELECT ON TABLE X TO ROLE reader;"
    )
    with pytest.raises(MigrationError, match=f"make `{FGAC_MARKER}` the file's first line"):
        load_migrations(ddl_dir)


def test_marker_below_the_first_line_is_called_out(ddl_dir: Path) -> None:
    (ddl_dir / "0004_roles.sql").write_text(f"-- Roles.\n{FGAC_MARKER}\nCREATE ROLE reader;")
    with pytest.raises(MigrationError, match=r"not on the first line"):
        load_migrations(ddl_dir)


# --- applying -------------------------------------------------------------------------


def test_applies_every_file_in_version_order(database: Database, ddl_dir: Path) -> None:
    applied = apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert [m.version for m in applied] == [1, 2, 3]
    user_schema = [s.split("(")[0].strip() for s in schema(database) if "SchemaMigrations" not in s]
    assert user_schema == [
        "CREATE TABLE Singers",
        "CREATE INDEX SingersByName ON Singers",
        "CREATE TABLE Albums",
        "CREATE INDEX AlbumsBySinger ON Albums",
    ]


def test_records_one_clean_version_row_and_a_history_row_per_file(
    database: Database, ddl_dir: Path
) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert version_rows(database) == [[3, False]]
    history = query(
        database,
        "SELECT Version, Dirty, Name, Checksum, AppliedAt IS NOT NULL, Created <= Modified "
        "FROM SchemaMigrationsHistory ORDER BY Version",
    )
    assert history == [
        [m.version, False, m.filename, m.checksum, True, True] for m in load_migrations(ddl_dir)
    ]


def test_records_when_each_statement_took_effect(database: Database, ddl_dir: Path) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    (created,) = query(database, "SELECT Created FROM SchemaMigrationsHistory WHERE Version = 3")[0]

    applied_at, committed_at = read_applied_times(database, 3)

    assert len(committed_at) == 2  # 0003_albums.sql: a table and its index
    first, second = committed_at
    assert first is not None and second is not None and applied_at is not None
    assert created <= first <= second <= applied_at


def test_a_statement_skipped_on_the_emulator_took_effect_at_no_time(
    database: Database, ddl_dir: Path
) -> None:
    (ddl_dir / "0004_roles.sql").write_text(ROLES)
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)

    _, committed_at = read_applied_times(database, 4)

    assert [stamp is None for stamp in committed_at] == [True, True, False]


def test_a_version_never_applied_has_no_times(database: Database, ddl_dir: Path) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)

    assert read_applied_times(database, 9) == (None, [])


def test_second_run_is_a_noop(database: Database, ddl_dir: Path, mocker: MockerFixture) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    update_ddl = mocker.spy(database, "update_ddl")
    lines: list[str] = []
    assert apply_migrations(database, ddl_dir, emulator=True, out=lines.append) == []
    assert update_ddl.call_count == 0
    assert lines == ["schema is up to date: version 3 (0003_albums.sql)"]


def test_new_file_is_applied_by_the_next_run(database: Database, ddl_dir: Path) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    (ddl_dir / "0004_labels.sql").write_text("CREATE TABLE Labels (Id INT64) PRIMARY KEY (Id);")
    applied = apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert [m.filename for m in applied] == ["0004_labels.sql"]
    assert version_rows(database) == [[4, False]]


def test_the_repository_schema_applies_cleanly(database: Database) -> None:
    applied = apply_migrations(database, DDL_DIR, emulator=True, out=quiet)
    assert [m.filename for m in applied] == [m.filename for m in load_migrations(DDL_DIR)]
    assert schema_status(database, DDL_DIR).is_current
    assert any(s.startswith("CREATE TABLE Accounts") for s in schema(database))


def test_schema_status_reports_pending_then_current(database: Database, ddl_dir: Path) -> None:
    before = schema_status(database, ddl_dir)
    assert (before.current_version, before.dirty, before.latest_version) == (None, False, 3)
    assert [m.version for m in before.pending] == [1, 2, 3]
    assert not before.is_current
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    after = schema_status(database, ddl_dir)
    assert (after.current_version, after.pending, after.is_current) == (3, [], True)


# --- refusals ---------------------------------------------------------------------------


def test_edited_applied_file_is_refused(database: Database, ddl_dir: Path) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    (ddl_dir / "0002_singers_by_name.sql").write_text("CREATE INDEX ByName ON Singers (Name);")
    with pytest.raises(
        ChecksumMismatchError, match=r"0002_singers_by_name\.sql was edited"
    ) as info:
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert info.value.filename == "0002_singers_by_name.sql"


def test_vanished_applied_file_is_refused(database: Database, ddl_dir: Path) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    (ddl_dir / "0003_albums.sql").unlink()
    with pytest.raises(MigrationError, match=r"0003_albums\.sql was applied .* no longer in"):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)


def test_failed_ddl_leaves_the_version_dirty(
    database: Database, ddl_dir: Path, tmp_path: Path, mocker: MockerFixture
) -> None:
    first = write_files(tmp_path / "first", {"0001_singers.sql": FILES["0001_singers.sql"]})
    apply_migrations(database, first, emulator=True, out=quiet)
    operation = mocker.Mock()
    operation.result.side_effect = gexc.FailedPrecondition("Duplicate name in schema: X.")
    mocker.patch.object(database, "update_ddl", return_value=operation)
    with pytest.raises(MigrationError, match=r"now dirty at version 2.*force 2.*force 1"):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert version_rows(database) == [[2, True]]


def test_dirty_version_is_refused_until_forced(
    database: Database, ddl_dir: Path, tmp_path: Path, mocker: MockerFixture
) -> None:
    first = write_files(tmp_path / "first", {"0001_singers.sql": FILES["0001_singers.sql"]})
    apply_migrations(database, first, emulator=True, out=quiet)
    # A crash right after the dirty mark: the DDL call never returns.
    mocker.patch.object(database, "update_ddl", side_effect=gexc.ServiceUnavailable("gone"))
    with pytest.raises(MigrationError):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    mocker.stopall()
    with pytest.raises(
        DirtyDatabaseError, match=r"dirty at version 2 \(0002_singers_by_name.sql\)"
    ):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)


def test_crashed_runner_with_an_expired_lock_is_refused_as_dirty(
    database: Database, ddl_dir: Path
) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    (ddl_dir / "0004_labels.sql").write_text("CREATE TABLE Labels (Id INT64) PRIMARY KEY (Id);")
    set_state(database, 4, dirty=True, owner="dead-host:1:abc", expires_in=-5)
    with pytest.raises(DirtyDatabaseError) as info:
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert "python -m api.migrate force 4" in str(info.value)
    assert "python -m api.migrate force 3" in str(info.value)


def test_force_previous_version_lets_the_failed_file_run_again(
    database: Database, ddl_dir: Path, tmp_path: Path, mocker: MockerFixture
) -> None:
    first = write_files(tmp_path / "first", {"0001_singers.sql": FILES["0001_singers.sql"]})
    apply_migrations(database, first, emulator=True, out=quiet)
    mocker.patch.object(database, "update_ddl", side_effect=gexc.ServiceUnavailable("gone"))
    with pytest.raises(MigrationError):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    mocker.stopall()
    force_version(database, ddl_dir, 1, out=quiet)
    assert version_rows(database) == [[1, False]]
    applied = apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert [m.version for m in applied] == [2, 3]


def test_force_failed_version_records_it_as_applied(
    database: Database, ddl_dir: Path, tmp_path: Path, mocker: MockerFixture
) -> None:
    first = write_files(tmp_path / "first", {"0001_singers.sql": FILES["0001_singers.sql"]})
    apply_migrations(database, first, emulator=True, out=quiet)
    mocker.patch.object(database, "update_ddl", side_effect=gexc.ServiceUnavailable("gone"))
    with pytest.raises(MigrationError):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    mocker.stopall()
    lines: list[str] = []
    force_version(database, ddl_dir, 2, out=lines.append)
    assert lines == ["forced: version 2 (0002_singers_by_name.sql), clean; was 2 (dirty)"]
    applied = apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert [m.version for m in applied] == [3]


def test_force_is_refused_while_a_runner_holds_the_lock(database: Database, ddl_dir: Path) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    set_state(database, 3, dirty=True, owner="busy-host:7:xyz", expires_in=300)
    with pytest.raises(MigrationError, match=r"busy-host:7:xyz"):
        force_version(database, ddl_dir, 3, out=quiet)


def test_force_beyond_the_files_is_refused(database: Database, ddl_dir: Path) -> None:
    with pytest.raises(MigrationError, match=r"cannot force version 9"):
        force_version(database, ddl_dir, 9, out=quiet)


def test_ddl_refused_by_spanner_is_undone_and_not_dirty(database: Database, ddl_dir: Path) -> None:
    (ddl_dir / "0004_typo.sql").write_text("CREATE TABLEX Labels (Id INT64) PRIMARY KEY (Id);")
    with pytest.raises(MigrationError, match=r"refused 0004_typo\.sql, nothing was applied"):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert version_rows(database) == [[3, False]]
    (ddl_dir / "0004_typo.sql").write_text("CREATE TABLE Labels (Id INT64) PRIMARY KEY (Id);")
    assert [m.version for m in apply_migrations(database, ddl_dir, emulator=True, out=quiet)] == [4]


def test_database_ahead_of_the_files_is_refused(database: Database, ddl_dir: Path) -> None:
    # No history to compare with (golang-migrate wrote the version): the version says it.
    database.update_ddl(
        [
            "CREATE TABLE SchemaMigrations (Version INT64 NOT NULL, Dirty BOOL NOT NULL) "
            "PRIMARY KEY (Version)"
        ]
    ).result(60)
    database.run_in_transaction(
        lambda tx: tx.insert("SchemaMigrations", ["Version", "Dirty"], [[5, False]])
    )
    with pytest.raises(MigrationError, match=r"at version 5 but the newest file .* is version 3"):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet)


# --- concurrency --------------------------------------------------------------------------


def test_concurrent_runners_apply_each_file_once(
    database: Database,
    ddl_dir: Path,
    open_database: Callable[[str], Database],
    mocker: MockerFixture,
) -> None:
    # Record only the DDL requests Spanner accepted: the emulator rejects a schema
    # change while another runner's lock-polling transaction is open, and the runner
    # then sends it again (nothing was applied by the rejected request).
    accepted: list[list[str]] = []
    real_update_ddl = Database.update_ddl

    def update_ddl(self: Database, statements: list[str], *args: Any, **kwargs: Any) -> Any:
        operation = real_update_ddl(self, statements, *args, **kwargs)
        accepted.append(list(statements))
        return operation

    mocker.patch.object(Database, "update_ddl", autospec=True, side_effect=update_ddl)
    runners = 4
    start = threading.Barrier(runners)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        handle = open_database(database.database_id)
        start.wait()
        try:
            applied = apply_migrations(
                handle, ddl_dir, emulator=True, out=quiet, poll_interval=0.05
            )
            results.append([m.version for m in applied])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(v for result in results for v in result) == [1, 2, 3]
    migration_batches = [batch for batch in accepted if "SchemaMigrations" not in batch[0]]
    assert sorted(migration_batches) == sorted(list(m.statements) for m in load_migrations(ddl_dir))


def test_second_runner_waits_for_a_running_one_instead_of_failing_dirty(
    database: Database,
    ddl_dir: Path,
    open_database: Callable[[str], Database],
    mocker: MockerFixture,
) -> None:
    first = open_database(database.database_id)
    first_is_applying = threading.Event()
    second_is_waiting = threading.Event()
    real_update_ddl = first.update_ddl

    def slow_update_ddl(statements: list[str]) -> Any:
        if "SchemaMigrations" not in statements[0] and not first_is_applying.is_set():
            first_is_applying.set()  # version 1 is claimed (dirty, locked) by now
            second_is_waiting.wait(60)
        return real_update_ddl(statements)

    mocker.patch.object(first, "update_ddl", side_effect=slow_update_ddl)
    first_result: list[Any] = []
    thread = threading.Thread(
        target=lambda: first_result.append(
            apply_migrations(first, ddl_dir, emulator=True, out=quiet)
        )
    )
    thread.start()
    assert first_is_applying.wait(60)
    second_lines: list[str] = []

    def second_out(line: str) -> None:
        second_lines.append(line)
        if line.startswith("waiting"):
            second_is_waiting.set()

    second_applied = apply_migrations(
        database, ddl_dir, emulator=True, out=second_out, poll_interval=0.05
    )
    thread.join(60)
    assert second_applied == []
    assert [m.version for m in first_result[0]] == [1, 2, 3]
    assert second_lines[0].startswith("waiting: another runner")


def test_waiting_for_a_live_lock_times_out(database: Database, ddl_dir: Path) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    (ddl_dir / "0004_labels.sql").write_text("CREATE TABLE Labels (Id INT64) PRIMARY KEY (Id);")
    set_state(database, 4, dirty=True, owner="slow-host:9:def", expires_in=300)
    with pytest.raises(LockTimeoutError, match=r"slow-host:9:def"):
        apply_migrations(
            database, ddl_dir, emulator=True, out=quiet, lock_timeout=0.3, poll_interval=0.05
        )


def test_lock_is_renewed_while_spanner_works_on_a_long_operation(
    database: Database, ddl_dir: Path, mocker: MockerFixture
) -> None:
    expiries: list[datetime] = []

    def result(timeout: float) -> None:
        expiries.append(query(database, "SELECT Expiry FROM SchemaMigrationsLock")[0][0])
        if len(expiries) == 1:
            raise concurrent.futures.TimeoutError  # still running: the runner renews

    first = write_files(ddl_dir.parent / "first", {"0001_singers.sql": FILES["0001_singers.sql"]})
    apply_migrations(database, first, emulator=True, out=quiet)
    operation = mocker.Mock()
    operation.result.side_effect = result
    operation.metadata.commit_timestamps = []
    mocker.patch.object(database, "update_ddl", return_value=operation)
    apply_migrations(database, ddl_dir, emulator=True, out=quiet, lease_seconds=60)
    assert expiries[1] > expiries[0]


def test_operation_running_past_the_timeout_leaves_dirty_with_instructions(
    database: Database, ddl_dir: Path, mocker: MockerFixture
) -> None:
    first = write_files(ddl_dir.parent / "first", {"0001_singers.sql": FILES["0001_singers.sql"]})
    apply_migrations(database, first, emulator=True, out=quiet)
    operation = mocker.Mock()
    operation.result.side_effect = concurrent.futures.TimeoutError
    mocker.patch.object(database, "update_ddl", return_value=operation)
    with pytest.raises(MigrationError, match=r"0002_singers_by_name\.sql still running after"):
        apply_migrations(database, ddl_dir, emulator=True, out=quiet, ddl_timeout=0.2)
    assert version_rows(database) == [[2, True]]


# --- dry run ------------------------------------------------------------------------------


def test_dry_run_changes_nothing(database: Database, ddl_dir: Path, mocker: MockerFixture) -> None:
    update_ddl = mocker.spy(database, "update_ddl")
    lines: list[str] = []
    pending = apply_migrations(database, ddl_dir, emulator=True, dry_run=True, out=lines.append)
    assert [m.version for m in pending] == [1, 2, 3]
    assert update_ddl.call_count == 0
    assert schema(database) == []
    assert "CREATE INDEX SingersByName ON Singers (Name);" in lines


def test_dry_run_shows_only_pending_files(database: Database, ddl_dir: Path) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    (ddl_dir / "0004_labels.sql").write_text("CREATE TABLE Labels (Id INT64) PRIMARY KEY (Id);")
    lines: list[str] = []
    pending = apply_migrations(database, ddl_dir, emulator=True, dry_run=True, out=lines.append)
    assert [m.version for m in pending] == [4]
    assert "-- 0004_labels.sql (version 4, 1 statement(s))" in "\n".join(lines)
    assert version_rows(database) == [[3, False]]


# --- fine-grained access control --------------------------------------------------------

ROLES = (
    f"{FGAC_MARKER}\n"
    "CREATE ROLE singer_reader;\n"
    "GRANT SELECT ON TABLE Singers TO ROLE singer_reader;\n"
    "CREATE INDEX SingersById ON Singers (Id);\n"
)


def test_fgac_statements_are_skipped_on_the_emulator_with_a_notice(
    database: Database, ddl_dir: Path
) -> None:
    (ddl_dir / "0004_roles.sql").write_text(ROLES)
    lines: list[str] = []
    applied = apply_migrations(database, ddl_dir, emulator=True, out=lines.append)
    assert [m.version for m in applied] == [1, 2, 3, 4]
    notice = next(line for line in lines if "skipping" in line)
    assert notice.startswith("0004_roles.sql: skipping 2 fine-grained access control")
    assert any(s.startswith("CREATE INDEX SingersById") for s in schema(database))
    assert version_rows(database) == [[4, False]]


def test_file_of_only_fgac_statements_counts_as_applied_on_the_emulator(
    database: Database, ddl_dir: Path
) -> None:
    (ddl_dir / "0004_roles.sql").write_text(f"{FGAC_MARKER}\nCREATE ROLE singer_reader;\n")
    applied = apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert [m.version for m in applied] == [1, 2, 3, 4]
    assert schema_status(database, ddl_dir).is_current


def test_fgac_statements_are_sent_to_cloud_spanner(
    database: Database, ddl_dir: Path, mocker: MockerFixture
) -> None:
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    (ddl_dir / "0004_roles.sql").write_text(ROLES)
    update_ddl = mocker.patch.object(database, "update_ddl")  # the emulator would refuse them
    apply_migrations(database, ddl_dir, emulator=False, out=quiet)
    update_ddl.assert_called_once_with(
        [
            "CREATE ROLE singer_reader",
            "GRANT SELECT ON TABLE Singers TO ROLE singer_reader",
            "CREATE INDEX SingersById ON Singers (Id)",
        ]
    )


# --- other tools' bookkeeping ------------------------------------------------------------


def test_database_managed_by_golang_migrate_is_adopted(
    database: Database, ddl_dir: Path, tmp_path: Path
) -> None:
    # What `migrate up` leaves: its own SchemaMigrations table at version 1.
    first = load_migrations(ddl_dir)[0]
    database.update_ddl(
        [
            "CREATE TABLE SchemaMigrations (Version INT64 NOT NULL, Dirty BOOL NOT NULL) "
            "PRIMARY KEY (Version)",
            *first.statements,
        ]
    ).result(60)
    database.run_in_transaction(
        lambda tx: tx.insert("SchemaMigrations", ["Version", "Dirty"], [[1, False]])
    )
    applied = apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    assert [m.version for m in applied] == [2, 3]


def test_wrench_history_table_gets_our_columns(database: Database, ddl_dir: Path) -> None:
    database.update_ddl(
        [
            "CREATE TABLE SchemaMigrationsHistory (Version INT64 NOT NULL, Dirty BOOL NOT NULL, "
            "Created TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp=true), "
            "Modified TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp=true)) "
            "PRIMARY KEY (Version)"
        ]
    ).result(60)
    apply_migrations(database, ddl_dir, emulator=True, out=quiet)
    names = query(database, "SELECT Name FROM SchemaMigrationsHistory ORDER BY Version")
    assert names == [["0001_singers.sql"], ["0002_singers_by_name.sql"], ["0003_albums.sql"]]
