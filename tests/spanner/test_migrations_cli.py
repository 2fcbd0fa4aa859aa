"""``python -m api.migrate`` as a real subprocess against the emulator."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.cloud import spanner

from tests.support import child_env, database_handle

pytestmark = pytest.mark.emulator

FILES = {
    "0001_singers.sql": "CREATE TABLE Singers (Id INT64, Name STRING(MAX)) PRIMARY KEY (Id);",
    "0002_singers_by_name.sql": "-- Lookup by name.\nCREATE INDEX SingersByName ON Singers (Name);",
}


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def database_id(empty_database_factory: Callable[[], str]) -> str:
    return empty_database_factory()


@pytest.fixture
def ddl_dir(tmp_path: Path) -> Path:
    ddl = tmp_path / "ddl"
    ddl.mkdir()
    for name, text in FILES.items():
        (ddl / name).write_text(text)
    return ddl


@pytest.fixture
def cli_env(emulator: Any, database_id: str) -> dict[str, str]:
    return child_env(emulator.address, database_id)


@pytest.fixture
def cli(cli_env: dict[str, str], tmp_path: Path) -> Callable[..., Result]:
    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "api.migrate", *args],
            env=env or cli_env,
            cwd=tmp_path,  # no developer .env is read
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def database(spanner_client: spanner.Client, database_id: str) -> Any:
    return database_handle(spanner_client, database_id)


def history(database: Any) -> list[list[Any]]:
    with database.snapshot() as snapshot:
        return [
            list(row)
            for row in snapshot.execute_sql(
                "SELECT Version, Name, Dirty FROM SchemaMigrationsHistory ORDER BY Version"
            )
        ]


def test_up_applies_the_repository_schema(cli: Callable[..., Result]) -> None:
    result = cli()
    assert result.code == 0, result.stderr
    assert "applied 0001_ledger.sql" in result.stdout
    assert "done: applied" in result.stdout


def test_up_twice_reports_up_to_date(cli: Callable[..., Result], ddl_dir: Path) -> None:
    assert cli("up", "--dir", str(ddl_dir)).code == 0
    again = cli("up", "--dir", str(ddl_dir))
    assert again.code == 0
    assert again.stdout.strip() == "schema is up to date: version 2 (0002_singers_by_name.sql)"


def test_dry_run_prints_pending_statements_and_changes_nothing(
    cli: Callable[..., Result], ddl_dir: Path
) -> None:
    result = cli("up", "--dry-run", "--dir", str(ddl_dir))
    assert result.code == 0, result.stderr
    assert "-- 0002_singers_by_name.sql (version 2, 1 statement(s))" in result.stdout
    assert "CREATE INDEX SingersByName ON Singers (Name);" in result.stdout
    assert "pending:         2 file(s)" in cli("status", "--dir", str(ddl_dir)).stdout


def test_status_shows_version_dirty_flag_and_pending_files(
    cli: Callable[..., Result], ddl_dir: Path
) -> None:
    (ddl_dir / "0002_singers_by_name.sql").rename(ddl_dir / "later.txt")
    assert cli("--dir", str(ddl_dir)).code == 0
    (ddl_dir / "later.txt").rename(ddl_dir / "0002_singers_by_name.sql")
    result = cli("status", "--dir", str(ddl_dir))
    assert result.code == 0, result.stderr
    assert "current version: 1 (0001_singers.sql)" in result.stdout
    assert "dirty:           no" in result.stdout
    assert "lock:            free" in result.stdout
    assert "pending:         1 file(s)\n  0002_singers_by_name.sql" in result.stdout


def test_dirty_database_exits_1_and_says_how_to_repair(
    cli: Callable[..., Result], ddl_dir: Path, database: Any
) -> None:
    assert cli("--dir", str(ddl_dir)).code == 0
    (ddl_dir / "0003_albums.sql").write_text("CREATE TABLE Albums (Id INT64) PRIMARY KEY (Id);")

    def crashed_runner(tx: Any) -> None:  # claimed version 3, then died long ago
        tx.delete("SchemaMigrations", spanner.KeySet(all_=True))
        tx.insert("SchemaMigrations", ["Version", "Dirty"], [[3, True]])
        past = datetime.now(UTC) - timedelta(minutes=5)
        tx.insert_or_update(
            "SchemaMigrationsLock", ["ID", "LockIdentifier", "Expiry"], [[None, "dead:1:x", past]]
        )

    database.run_in_transaction(crashed_runner)
    result = cli("up", "--dir", str(ddl_dir))
    assert result.code == 1
    assert "dirty at version 3 (0003_albums.sql)" in result.stderr
    assert "python -m api.migrate force 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_force_repairs_a_dirty_version_and_up_continues(
    cli: Callable[..., Result], ddl_dir: Path, database: Any
) -> None:
    assert cli("--dir", str(ddl_dir)).code == 0
    (ddl_dir / "0003_albums.sql").write_text("CREATE TABLE Albums (Id INT64) PRIMARY KEY (Id);")
    database.run_in_transaction(
        lambda tx: tx.update("SchemaMigrations", ["Version", "Dirty"], [[2, True]])
    )
    forced = cli("force", "2", "--dir", str(ddl_dir))
    assert forced.code == 0, forced.stderr
    assert forced.stdout.strip() == (
        "forced: version 2 (0002_singers_by_name.sql), clean; was 2 (dirty)"
    )
    up = cli("--dir", str(ddl_dir))
    assert up.code == 0, up.stderr
    assert "applied 0003_albums.sql" in up.stdout


def test_edited_file_exits_1_naming_it(cli: Callable[..., Result], ddl_dir: Path) -> None:
    assert cli("--dir", str(ddl_dir)).code == 0
    (ddl_dir / "0001_singers.sql").write_text("CREATE TABLE Singers (Id INT64) PRIMARY KEY (Id);")
    result = cli("--dir", str(ddl_dir))
    assert result.code == 1
    assert result.stderr.startswith("error: 0001_singers.sql was edited after it was applied")


def test_badly_named_file_exits_1(cli: Callable[..., Result], ddl_dir: Path) -> None:
    (ddl_dir / "0003-albums.sql").write_text("DROP TABLE X;")
    result = cli("--dir", str(ddl_dir))
    assert result.code == 1
    assert "0003-albums.sql: migration files are named NNNN_name.sql" in result.stderr


def test_missing_database_exits_1(cli: Callable[..., Result], cli_env: dict[str, str]) -> None:
    result = cli("status", env={**cli_env, "LEDGER_SPANNER_DATABASE": "no-such-db"})
    assert result.code == 1
    assert "no-such-db does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["force"], "force needs the VERSION"),
        (["status", "3"], "status takes no version"),
        (["status", "--dry-run"], "--dry-run goes with up"),
        (["sideways"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(cli: Callable[..., Result], args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.code == 2
    assert message in result.stderr


def test_two_processes_at_once_apply_each_file_once(
    cli_env: dict[str, str], ddl_dir: Path, tmp_path: Path, database: Any
) -> None:
    command = [sys.executable, "-m", "api.migrate", "up", "--dir", str(ddl_dir)]
    processes = [
        subprocess.Popen(
            command,
            env=cli_env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    applied_lines = [
        line for stdout, _ in outputs for line in stdout.splitlines() if line.startswith("applied ")
    ]
    assert sorted(line.split()[1] for line in applied_lines) == sorted(FILES)
    assert history(database) == [
        [1, "0001_singers.sql", False],
        [2, "0002_singers_by_name.sql", False],
    ]
