"""The dependency locks: complete, hashed, current with their sources, one version of a
package everywhere, and only the service's own packages in the image's lock.

A source edited without `make lock` fails here, so CI catches a lock left behind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

# Each source and its lock (requirements-bench.txt is only included by -dev).
LOCKS = {
    "requirements.txt": "requirements.lock",
    "requirements-functions.txt": "requirements-functions.lock",
    "requirements-lambda.txt": "requirements-lambda.lock",
    "requirements-dev.txt": "requirements-dev.lock",
    "requirements-checkov.txt": "requirements-checkov.lock",
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def source_pins(path: Path) -> dict[str, str]:
    """``name==version`` of a requirements file and the files it includes (-r)."""
    text = path.read_text()
    pins = {_name(n): v for n, v in _PIN.findall(text)}
    for included in re.findall(r"^-r\s+(\S+)", text, re.MULTILINE):
        pins |= source_pins(path.parent / included)
    return pins


def lock_pins(name: str) -> dict[str, str]:
    return {_name(n): v for n, v in _PIN.findall((ROOT / name).read_text())}


@pytest.mark.parametrize(("source", "lock"), sorted(LOCKS.items()))
def test_every_pin_of_a_source_is_in_its_lock_at_that_version(source, lock):
    locked = lock_pins(lock)
    stale = {n: v for n, v in source_pins(ROOT / source).items() if locked.get(n) != v}
    assert stale == {}, "run `make lock`"


@pytest.mark.parametrize("lock", sorted(LOCKS.values()))
def test_every_locked_package_carries_its_hashes(lock):
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text())
    unhashed = [e.split()[0] for e in entries if _PIN.match(e) and "--hash=sha256:" not in e]
    assert unhashed == []


@pytest.mark.parametrize("lock", sorted(set(LOCKS.values()) - {"requirements.lock"}))
def test_a_package_has_the_runtime_version_in_every_lock(lock):
    runtime, other = lock_pins("requirements.lock"), lock_pins(lock)
    differ = {n: (v, other[n]) for n, v in runtime.items() if n in other and other[n] != v}
    assert differ == {}


def test_the_image_lock_has_neither_adapter_nor_any_dev_tool():
    runtime = lock_pins("requirements.lock")
    assert not {"mangum", "functions-framework", "pytest", "mypy", "uv"} & set(runtime)


def test_make_lock_regenerates_every_lock():
    makefile = (ROOT / "Makefile").read_text()
    rule = makefile[makefile.index("\nlock:") :]
    listed = re.search(r"^LOCKED = (.+)$", makefile, re.MULTILINE)
    assert listed is not None
    names = {f"requirements-{n}.txt" for n in listed.group(1).split()} | {"requirements.txt"}
    assert names == set(LOCKS)
    assert "--generate-hashes" in makefile and "requirements.lock" in rule


def test_make_installs_only_hash_checked_locks_and_our_own_client():
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r"pip install ([^\n]+)", makefile)
    ours = [i for i in installs if "-e clients/python" in i]
    assert [i for i in installs if i not in ours and "--require-hashes" not in i] == []
    # The local package brings nothing unhashed: no dependencies, no build isolation.
    assert all("--no-deps" in i and "--no-build-isolation" in i for i in ours)
