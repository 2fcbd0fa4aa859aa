"""What the test suite needs from the machine besides ``.venv``, declared once.

``make test`` runs this first (``python -m devtools.testdeps --install``): it installs
what it can (Debian's chromium, with apt-get, as ``.ci/run`` used to) and stops at once,
with the way to get it, on what it cannot. ``.ci/run`` is ``make test``, and the build's
test step runs ``.ci/run``; tests/deploy/test_test_suite.py fails when the suite runs a
program no need below declares, or when the build's test step lacks a need.

A need is met on the machine (its programs found) or from outside: an emulator another
process runs, named by an environment variable (the build starts both emulators beside
its test step, as containers).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devtools.emulator import INSTALL_HINT as SPANNER_HINT
from devtools.emulator import docker_answers, find_gateway
from devtools.pubsub import INSTALL_HINT as PUBSUB_HINT
from devtools.pubsub import find_pubsub_emulator

# An emulator somebody else runs: the harness uses it instead of starting its own.
SPANNER_EMULATOR_ENV = "LEDGER_TEST_EMULATOR_HOST"
PUBSUB_EMULATOR_ENV = "LEDGER_TEST_PUBSUB_EMULATOR_HOST"

# What any machine that runs `make` at all has: the README's prerequisites.
BASE_PROGRAMS = ("bash", "make", "python3.11")


def chromium_path() -> Path | None:
    """The browser tests/explorer drives (Debian's chromium, through Playwright)."""
    found = shutil.which("chromium")
    return Path(found) if found else None


def _spanner_emulator() -> str | None:
    gateway = find_gateway()
    if gateway is not None:
        return str(gateway)
    return "the emulator image (docker)" if docker_answers() else None


def _pubsub_emulator() -> str | None:
    binary = find_pubsub_emulator()
    java = shutil.which("java")
    return f"{binary} (java: {java})" if binary is not None and java else None


@dataclass(frozen=True)
class Need:
    name: str
    used_by: str
    # The programs the suite runs for it: tests/deploy checks every program the suite
    # names is one of these (or a base or optional program).
    programs: tuple[str, ...]
    # Where it is on this machine, or None.
    find: Callable[[], str | None]
    # Set to an address, it stands in for the programs (an emulator run elsewhere).
    external_env: str | None = None
    # Debian packages `make test` installs when it is missing; empty: a prerequisite.
    apt_packages: tuple[str, ...] = ()
    hint: str = ""

    def found(self, environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
        if self.external_env and environ.get(self.external_env):
            return f"{self.external_env}={environ[self.external_env]}"
        return self.find()


NEEDS = (
    Need(
        name="chromium",
        used_by="tests/explorer (the explorer in a headless browser)",
        programs=("chromium",),
        find=lambda: str(path) if (path := chromium_path()) else None,
        apt_packages=("chromium",),
        hint="Install Chromium so that `chromium` is on PATH (Debian: apt-get install chromium).",
    ),
    Need(
        name="Spanner emulator",
        used_by="every integration test, tests/devtools (make run)",
        programs=("gcloud", "gateway_main", "docker"),
        find=_spanner_emulator,
        external_env=SPANNER_EMULATOR_ENV,
        hint=SPANNER_HINT,
    ),
    Need(
        name="Pub/Sub emulator",
        used_by="tests/events, tests/devtools (make run)",
        programs=("gcloud", "cloud-pubsub-emulator", "java"),
        find=_pubsub_emulator,
        external_env=PUBSUB_EMULATOR_ENV,
        hint=PUBSUB_HINT,
    ),
)

# Programs a test uses only when present, skipping itself otherwise: (program, test).
OPTIONAL_PROGRAMS = {"unshare": "tests/entrypoints/test_uvicorn.py (PID 1 in a namespace)"}
# What installs a missing need's apt_packages.
INSTALL_PROGRAMS = ("apt-get", "sudo")


def apt_install_commands(packages: tuple[str, ...], *, root: bool) -> list[list[str]]:
    """How `make test` installs Debian packages: as .ci/run always did, sudo unless root."""
    apt = ["apt-get"] if root else ["sudo", "apt-get"]
    return [[*apt, "update", "-q"], [*apt, "install", "-y", "-q", *packages]]


def ensure(*, install: bool, out: Callable[[str], None] = print) -> list[Need]:
    """Report each need; install what apt can when ``install``; return what is missing."""
    missing: list[Need] = []
    for need in NEEDS:
        where = need.found()
        if where is None and install and need.apt_packages and shutil.which("apt-get"):
            out(f"{need.name}: missing, installing {' '.join(need.apt_packages)} with apt-get")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for command in apt_install_commands(need.apt_packages, root=os.geteuid() == 0):
                subprocess.run(command, check=True, env=env)  # noqa: S603 - our own argv
            where = need.found()
        if where is None:
            missing.append(need)
        else:
            out(f"{need.name}: {where}")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.testdeps", description=__doc__)
    parser.add_argument("--install", action="store_true", help="install what apt-get can")
    args = parser.parse_args(argv)
    try:
        missing = ensure(install=args.install)
    except subprocess.CalledProcessError as exc:
        print(f"installing failed: {' '.join(exc.cmd)} exited {exc.returncode}", file=sys.stderr)
        return 1
    for need in missing:
        print(f"\n{need.name} is missing ({need.used_by}).\n{need.hint}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
