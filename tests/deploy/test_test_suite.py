"""One definition of the test suite: `make test` (which first gets what the suite needs
from the machine, devtools/testdeps.py), `.ci/run` (which is `make test`) and the build's
test step (which runs `.ci/run`, with everything the suite needs beside or inside it).

The installing itself runs here against stand-ins for apt-get and sudo on a PATH without
the real programs: this machine has Debian's chromium, and nothing here uninstalls it.
"""

from __future__ import annotations

import ast
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.testdeps import (
    BASE_PROGRAMS,
    INSTALL_PROGRAMS,
    NEEDS,
    OPTIONAL_PROGRAMS,
    PUBSUB_EMULATOR_ENV,
    SPANNER_EMULATOR_ENV,
    apt_install_commands,
)
from tests.deploy.cloudbuild_config import BUILD_CONFIG, env_of, load, script, sidecars, step
from tests.support import ROOT

SUITE_SOURCES = [*sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "devtools").glob("*.py"))]
# What the build's test step image brings: Debian (apt-get, root) with Python 3.11, and
# make, bash, git and curl - the full image is built on buildpack-deps; -slim has no make.
DEBIAN_PYTHON_311 = re.compile(r"^python:3\.11\.\d+-(bookworm|trixie)$")


def makefile_rule(target: str) -> tuple[list[str], list[str]]:
    """(prerequisites, recipe lines) of ``target`` in the Makefile."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{target}:([^\n]*)\n((?:\t[^\n]*\n)*)", text, re.MULTILINE)
    assert match is not None, f"no rule {target}"
    return match.group(1).split(), [line.strip() for line in match.group(2).splitlines()]


# --- make test, .ci/run, the build: one suite --------------------------------------------


def test_make_test_gets_what_the_suite_needs_before_anything_else():
    prerequisites, _ = makefile_rule("test")
    assert prerequisites == ["testdeps", "lint", "typecheck", "pytest", "checkov"]
    _, recipe = makefile_rule("testdeps")
    assert recipe == ["$(PY) -m devtools.testdeps --install"]


def test_ci_runs_make_test_and_nothing_else():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line for line in lines[1:] if line.strip() and not line.startswith("#")]
    assert commands == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "exec make test"]
    assert os.stat(ROOT / ".ci" / "run").st_mode & stat.S_IXUSR


def test_the_build_tests_by_running_ci():
    assert script(step(load(BUILD_CONFIG)["steps"], "test")).rstrip().endswith("\n.ci/run")


# --- what the suite needs, and that the build's test step has it ----------------------------


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def programs_named(path: Path) -> set[str]:
    """Programs a source file runs by name: shutil.which("x"), subprocess.*(["x", ...]),
    and "/usr/bin/x". (A program reached only through a variable is not seen.)"""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args:
            name, first = _dotted(node.func), node.args[0]
            if name.startswith("subprocess.") and isinstance(first, ast.List) and first.elts:
                first = first.elts[0]
            named = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if named and (name == "shutil.which" or name.startswith("subprocess.")):
                found.add(first.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            binary = re.fullmatch(r"/usr/(?:local/)?s?bin/([\w.+-]+)", node.value)
            found |= {binary.group(1)} if binary else set()
    return found


def test_the_scan_sees_the_programs_the_suite_is_known_to_run():
    found = set().union(*(programs_named(p) for p in SUITE_SOURCES))
    assert {"chromium", "gcloud", "java", "cloud-pubsub-emulator", "unshare", "bash"} <= found


@pytest.mark.parametrize("path", SUITE_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_program_the_suite_runs_is_a_declared_need(path):
    declared = {p for need in NEEDS for p in need.programs}
    known = declared | set(BASE_PROGRAMS) | set(OPTIONAL_PROGRAMS) | set(INSTALL_PROGRAMS)
    unknown = programs_named(path) - known
    assert unknown == set(), (
        f"{path.name} runs {sorted(unknown)}: declare it in devtools/testdeps.py (a Need, so "
        "that `make test` checks it and the build's test step must provide it)"
    )


@pytest.fixture(scope="module")
def test_step() -> tuple[dict[str, Any], dict[str, str]]:
    steps = load(BUILD_CONFIG)["steps"]
    return step(steps, "test"), sidecars(steps)


def test_the_test_step_runs_on_debian_with_python_311_and_make(test_step):
    name = test_step[0]["name"]
    assert DEBIAN_PYTHON_311.match(name), f"{name}: not an image this test knows the contents of"
    assert "python3.11" in BASE_PROGRAMS


@pytest.mark.parametrize("need", NEEDS, ids=lambda n: n.name)
def test_the_build_test_step_provides_every_need(need, test_step):
    test, containers = test_step
    if need.external_env:
        address = env_of(test).get(need.external_env, "")
        host = address.split(":")[0]
        assert host in containers, f"{need.name}: {need.external_env}={address!r}: no container"
    else:
        # Installed by `make test` itself, as root on Debian: apt-get needs nothing more.
        assert need.apt_packages, f"the build's test step has no {need.name} ({need.used_by})"
        assert DEBIAN_PYTHON_311.match(test["name"])


def test_the_containers_beside_the_tests_are_the_emulators_the_suite_takes():
    env = env_of(step(load(BUILD_CONFIG)["steps"], "test"))
    assert {SPANNER_EMULATOR_ENV, PUBSUB_EMULATOR_ENV} <= set(env)


# --- make test on a machine without chromium (issue 22, item 9) ------------------------------


def _install(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


# apt-get records its calls, and "installs" chromium: an executable on the same PATH.
FAKE_APT_GET = """
import os, sys
frontend = os.environ.get("DEBIAN_FRONTEND", "")
with open(os.environ["APT_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + " DEBIAN_FRONTEND=" + frontend + "\\n")
if sys.argv[1] == "install" and "chromium" in sys.argv:
    path = os.path.join(os.path.dirname(sys.argv[0]), "chromium")
    open(path, "w").write("#!/bin/sh\\n")
    os.chmod(path, 0o755)
"""
FAKE_SUDO = """
import os, sys
os.execvp(sys.argv[1], sys.argv[1:])
"""


def run_testdeps(tmp_path: Path, *, apt: bool, emulators: bool) -> subprocess.CompletedProcess[str]:
    """`make test`'s first step on a machine whose PATH has no chromium (and, unless
    ``emulators``, no gcloud and no emulator addresses)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if apt:
        _install(bin_dir, "apt-get", FAKE_APT_GET)
        _install(bin_dir, "sudo", FAKE_SUDO)
    env = {"PATH": str(bin_dir), "APT_LOG": str(tmp_path / "apt.log"), "HOME": str(tmp_path)}
    if emulators:
        env |= {SPANNER_EMULATOR_ENV: "spanner:9010", PUBSUB_EMULATOR_ENV: "pubsub:8085"}
    return subprocess.run(
        [sys.executable, "-m", "devtools.testdeps", "--install"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_make_test_installs_chromium_with_apt_get_when_it_is_missing(tmp_path):
    done = run_testdeps(tmp_path, apt=True, emulators=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "apt.log").read_text().splitlines() == [
        "update -q DEBIAN_FRONTEND=noninteractive",
        "install -y -q chromium DEBIAN_FRONTEND=noninteractive",
    ]
    assert f"chromium: {tmp_path / 'bin' / 'chromium'}" in done.stdout


def test_without_root_the_install_goes_through_sudo():
    assert apt_install_commands(("chromium",), root=False) == [
        ["sudo", "apt-get", "update", "-q"],
        ["sudo", "apt-get", "install", "-y", "-q", "chromium"],
    ]
    assert apt_install_commands(("chromium",), root=True)[1][0] == "apt-get"


def test_without_apt_get_make_test_stops_at_once_saying_what_to_install(tmp_path):
    done = run_testdeps(tmp_path, apt=False, emulators=True)
    assert done.returncode == 1
    assert "chromium is missing (tests/explorer" in done.stderr
    assert "`chromium` is on PATH" in done.stderr


def test_a_missing_emulator_stops_make_test_with_how_to_get_it(tmp_path):
    done = run_testdeps(tmp_path, apt=True, emulators=False)
    assert done.returncode == 1
    assert "gcloud components install cloud-spanner-emulator" in done.stderr
    assert "gcloud components install pubsub-emulator" in done.stderr
