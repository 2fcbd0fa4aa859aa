"""How checkov guards infra/ and the Dockerfile (the scan itself runs in `make checkov`,
part of `make test`, in its own venv; these tests keep that wiring honest)."""

from __future__ import annotations

import re

from tests.support import ROOT

SCANNED = [*sorted((ROOT / "infra").glob("*.tf")), ROOT / "Dockerfile"]
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def makefile_rule(target: str) -> str:
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{target}:.*?(?=^\S|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match is not None, f"no {target} rule in the Makefile"
    return match.group(0)


def test_every_skipped_check_says_why():
    for path in SCANNED:
        for check_id, reason in SKIP.findall(path.read_text()):
            assert len(reason.strip()) >= 20, f"{path.name}: {check_id} skipped without a reason"


def test_no_check_is_skipped_globally():
    config = (ROOT / "infra" / ".checkov.yaml").read_text()
    assert "skip-check" not in config
    assert "soft-fail" not in config


def test_make_test_runs_checkov():
    first_line = makefile_rule("test").splitlines()[0]
    assert "checkov" in first_line.split(":", 1)[1].split()


def test_checkov_scans_both_the_terraform_and_the_dockerfile():
    rule = makefile_rule("checkov")
    assert "--directory infra" in rule
    assert "--file Dockerfile" in rule


def test_checkov_is_pinned_in_its_own_requirements():
    pins = (ROOT / "requirements-checkov.txt").read_text()
    assert re.search(r"^checkov==\d+\.\d+\.\d+$", pins, re.MULTILINE)
    assert "checkov" not in (ROOT / "requirements-dev.txt").read_text()
