"""Every `gcloud` command the docs and the build files run is a command of gcloud's
reference, with flags that reference gives it (recorded from gcloud's own help:
tests/deploy/gcloud_reference.py, which says how to record a new command).

What the recorded flags cannot say is checked by name below: a `gcloud run services
update` with no change to make fails ("no configuration change requested").
"""

from __future__ import annotations

import json

import pytest

from tests.deploy.gcloud_reference import RECORD, all_commands, command_path, flags
from tests.support import ROOT

REFERENCE: dict[str, list[str]] = json.loads(RECORD.read_text())["commands"]
COMMANDS = all_commands()
# Flags of `gcloud run services update` that say where or how, not what to change.
NOT_A_CHANGE = {
    "--region", "--project", "--platform", "--quiet", "--async", "--format",
    "--verbosity", "--account", "--impersonate-service-account", "--no-traffic",
}  # fmt: skip


def _id(where: str, words: list[str]) -> str:
    return f"{where}: {' '.join(words[:5])}"


@pytest.mark.parametrize(("where", "words"), COMMANDS, ids=[_id(*c) for c in COMMANDS])
def test_every_gcloud_command_is_in_the_reference_with_the_flags_it_gives(where, words):
    path = command_path(words, set(REFERENCE))
    assert path is not None, (
        f"{where}: `{' '.join(words)}` is no gcloud command recorded from its reference "
        "(python -m tests.deploy.gcloud_reference records it, or says it does not exist)"
    )
    unknown = [flag for flag in flags(words) if flag not in REFERENCE[path]]
    assert unknown == [], f"{where}: `gcloud {path}` has no {unknown}"


def test_the_scan_finds_the_commands_of_the_runbooks_and_of_both_builds():
    places = {where.split()[0] for where, _ in COMMANDS}
    assert {"docs/DEPLOY.md", "docs/OPERATIONS.md", "docs/EVENTS.md", "docs/SECURITY.md"} <= places
    assert {"cloudbuild.yaml", "cloudbuild-deploy.yaml"} <= places
    assert len(COMMANDS) > 80


def test_a_service_update_always_asks_for_a_change():
    updates = [
        (where, words)
        for where, words in COMMANDS
        if command_path(words, set(REFERENCE)) == "run services update"
    ]
    assert updates
    for where, words in updates:
        assert set(flags(words)) - NOT_A_CHANGE, f"{where}: `{' '.join(words)}` changes nothing"


def test_approving_a_build_uses_the_release_track_that_has_the_command():
    for where, words in COMMANDS:
        if words[1:3] == ["builds", "approve"] or words[1:3] == ["builds", "reject"]:
            pytest.fail(f"{where}: `gcloud {words[1]} {words[2]}` exists in beta only")


def test_the_serving_commit_is_read_from_what_serves_not_from_a_list_of_builds():
    deploy = (ROOT / "docs" / "DEPLOY.md").read_text()
    assert "tags=deploy" not in deploy
    serving = deploy[deploy.index("SERVING=$(") :].split("\n\n")[0]
    assert "gcloud artifacts docker images list" in serving
    assert "--include-tags" in serving
