"""The Dockerfile and .dockerignore, checked without a Docker engine.

The Dockerfile is parsed into its instructions (comments dropped, continuation lines
joined) and each property of the image is asserted from them.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from tests.support import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

Instruction = tuple[str, str]

# Local runs, tests and benchmarks only: never copied into the image, never imported by it.
DEV_TOOLING = ("devtools", "tests", "bench")


def parse_dockerfile(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


def indexes(instructions: list[Instruction], keyword: str) -> list[int]:
    return [i for i, (k, _) in enumerate(instructions) if k == keyword]


def cmd_argv(instructions: list[Instruction]) -> list[str]:
    [last_cmd] = [instructions[i][1] for i in indexes(instructions, "CMD")[-1:]]
    argv = json.loads(last_cmd)
    assert isinstance(argv, list)
    return [str(a) for a in argv]


def test_base_image_is_slim_python_311_pinned_to_a_patch_release(instructions):
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", froms[0])


def test_process_runs_as_a_non_root_user(instructions):
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users, "no USER instruction: the server would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_user_is_set_before_the_command(instructions):
    assert indexes(instructions, "USER")[-1] < indexes(instructions, "CMD")[-1]


def test_cmd_is_exec_form(instructions):
    cmd = instructions[indexes(instructions, "CMD")[-1]][1]
    assert cmd.startswith("[")
    assert cmd_argv(instructions)


def test_cmd_execs_uvicorn_so_it_receives_sigterm(instructions):
    argv = cmd_argv(instructions)
    assert argv[:2] == ["sh", "-c"]
    assert argv[2].startswith("exec uvicorn main:app ")


def test_server_listens_on_port_from_the_environment(instructions):
    command = cmd_argv(instructions)[-1]
    assert "--host 0.0.0.0" in command
    assert "--port ${PORT:-8080}" in command


def test_graceful_shutdown_ends_before_cloud_run_kills_at_10_s(instructions):
    command = cmd_argv(instructions)[-1]
    match = re.search(r"--timeout-graceful-shutdown (\d+)", command)
    assert match is not None
    assert int(match.group(1)) < 10


def test_dependencies_install_in_their_own_layer_before_the_code(instructions):
    copies = [(i, rest) for i, (k, rest) in enumerate(instructions) if k == "COPY"]
    requirements = next(i for i, rest in copies if rest.split()[0] == "requirements.lock")
    pip_install = next(
        i for i, (k, rest) in enumerate(instructions) if k == "RUN" and "pip install" in rest
    )
    first_code = min(i for i, rest in copies if rest.split()[0] in {"api/", "main.py", "."})
    assert requirements < pip_install < first_code


def test_dev_requirements_never_enter_the_image(instructions):
    for keyword, rest in instructions:
        if keyword in {"COPY", "ADD", "RUN"}:
            assert "requirements-dev" not in rest


def test_the_image_installs_the_runtime_lock_with_hash_checking(instructions):
    [install] = [rest for k, rest in instructions if k == "RUN" and "pip install" in rest]
    assert "--require-hashes" in install
    assert "--requirement requirements.lock" in install


def test_only_named_paths_are_copied_never_the_whole_context(instructions):
    sources = [rest.split()[:-1] for keyword, rest in instructions if keyword in {"COPY", "ADD"}]
    flat = [s for group in sources for s in group if not s.startswith("--")]
    assert "." not in flat
    assert not any(s.startswith(("tests", "bench", "docs", "infra")) for s in flat)


def copied_sources(instructions: list[Instruction]) -> list[str]:
    sources = [rest.split()[:-1] for keyword, rest in instructions if keyword in {"COPY", "ADD"}]
    return [s for group in sources for s in group if not s.startswith("--")]


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


def test_copy_lines_ship_no_dev_tooling(instructions):
    for source in copied_sources(instructions):
        assert not source.startswith(DEV_TOOLING), source
        copied = ROOT / source
        files = sorted(copied.rglob("*.py")) if copied.is_dir() else [copied]
        for path in (p for p in files if p.suffix == ".py"):
            dev_imports = {m for m in imported_modules(path) if m.split(".")[0] in DEV_TOOLING}
            assert not dev_imports, f"{path.relative_to(ROOT)} imports {sorted(dev_imports)}"


def test_no_credentials_are_baked_in():
    text = DOCKERFILE.read_text()
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in text
    assert "-----BEGIN" not in text


@pytest.mark.parametrize(
    "pattern", ["tests/", ".venv*/", ".git/", ".env", "bench/", "devtools/", "infra/"]
)
def test_dockerignore_keeps_out(pattern):
    lines = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert pattern in lines
