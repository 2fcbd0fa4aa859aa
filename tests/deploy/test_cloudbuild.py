"""cloudbuild.yaml, the build half that runs on every push: its order, what it may touch,
and that a retry of the same commit does not fail at the push.

Read as data; the skip-or-push scripts also run, against stand-ins for gcloud and docker
(nothing here talks to Google Cloud).
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.cloudbuild_config import (
    BUILD_CONFIG,
    BUILT_IN_SUBSTITUTIONS,
    args_text,
    env_of,
    load,
    position,
    render,
    script,
    sidecars,
    step,
    substitution_refs,
)
from tests.deploy.hcl import local_map

IMAGE = "${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_SERVICE}:$COMMIT_SHA"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load(BUILD_CONFIG)


@pytest.fixture(scope="module")
def steps(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config["steps"])


# --- order -----------------------------------------------------------------------


def test_steps_run_in_build_order(steps):
    order = [
        "start-emulators",
        "test",
        "stop-emulators",
        "find-pushed-image",
        "build-image",
        "push-image",
    ]
    assert [s["id"] for s in steps] == order


def test_every_step_waits_for_the_one_before_it(steps):
    # No waitFor: Cloud Build then runs each step after all previous ones have succeeded.
    assert [s["id"] for s in steps if "waitFor" in s] == []


def test_no_step_may_fail_without_failing_the_build(steps):
    tolerant = [s["id"] for s in steps if s.get("allowFailure") or s.get("allowExitCodes")]
    assert tolerant == []


def test_tests_pass_before_the_image_is_pushed(steps):
    assert position(steps, "test") < position(steps, "push-image")


# --- what this build may touch: images, nothing else -----------------------------------


def test_the_build_neither_migrates_nor_deploys():
    text = BUILD_CONFIG.read_text()
    assert "api.migrate" not in text
    assert "gcloud run" not in text
    assert not re.search(r"_SPANNER_|_RUNTIME_SA|_DEPLOY_SA", text)


def test_build_runs_as_its_dedicated_service_account(config):
    assert config["serviceAccount"] == "projects/$PROJECT_ID/serviceAccounts/${_BUILD_SA}"
    default = config["substitutions"]["_BUILD_SA"]
    assert default.startswith("ledger-build@")
    assert not default.endswith(
        ("cloudbuild.gserviceaccount.com", "-compute@developer.gserviceaccount.com")
    )


# --- 1. tests against an emulator --------------------------------------------------


def test_the_emulators_run_detached_on_the_build_network_before_the_tests(steps):
    assert position(steps, "start-emulators") < position(steps, "test")
    runs = sidecars(steps)
    assert set(runs) == {"spanner-emulator", "pubsub-emulator"}
    assert runs["spanner-emulator"].startswith("gcr.io/cloud-spanner-emulator/emulator:")
    assert runs["pubsub-emulator"].startswith("gcr.io/google.com/cloudsdktool/google-cloud-cli:")
    assert "gcloud beta emulators pubsub start --host-port=0.0.0.0:8085" in runs["pubsub-emulator"]


def test_the_emulators_are_removed_after_the_tests(steps):
    assert step(steps, "stop-emulators")["args"] == [
        "rm", "--force", *sorted(sidecars(steps), reverse=True),
    ]  # fmt: skip


def test_tests_are_pointed_at_the_build_emulators(steps):
    env = env_of(step(steps, "test"))
    assert env["LEDGER_TEST_EMULATOR_HOST"] == "spanner-emulator:9010"
    assert env["LEDGER_TEST_PUBSUB_EMULATOR_HOST"] == "pubsub-emulator:8085"


def test_test_step_runs_exactly_what_ci_runs(steps):
    assert script(step(steps, "test")).rstrip().splitlines()[-1] == ".ci/run"


# --- 2-3. build and push, once per commit -------------------------------------------------


def test_image_is_tagged_with_the_commit_sha(steps):
    text = script(step(steps, "build-image"))
    assert f'--tag="{IMAGE}"' in text
    assert "--label=org.opencontainers.image.revision=$COMMIT_SHA" in text


def test_the_built_image_is_the_one_pushed(steps):
    assert re.search(
        rf'^docker push "{re.escape(IMAGE)}"$', script(step(steps, "push-image")), re.M
    )


def test_build_and_push_are_skipped_when_the_commit_was_pushed_before(steps):
    for step_id in ("build-image", "push-image"):
        first = script(step(steps, step_id)).splitlines()[0]
        assert first.startswith("if [ -s /workspace/pushed-digest ]; then"), step_id
        assert first.endswith("exit 0; fi"), step_id


def fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


# Stand-ins: gcloud answers `artifacts docker images describe` from $FAKE_DESCRIBE
# ("digest:<d>", "missing" or "denied"); docker records its argv in $FAKE_LOG.
FAKE_GCLOUD = """
import os, sys
mode = os.environ["FAKE_DESCRIBE"]
assert sys.argv[1:5] == ["artifacts", "docker", "images", "describe"], sys.argv
if mode.startswith("digest:"):
    print(mode.split(":", 1)[1])
elif mode == "missing":
    sys.exit("ERROR: (gcloud.artifacts.docker.images.describe) NOT_FOUND: image not found")
else:
    sys.exit("ERROR: (gcloud.artifacts.docker.images.describe) PERMISSION_DENIED")
"""
FAKE_DOCKER = """
import os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:3]) + "\\n")
"""


def run_push_steps(steps, tmp_path: Path, describe: str) -> tuple[list[int], list[str]]:
    """Run find-pushed-image, build-image and push-image in order, as Cloud Build would
    (stopping at the first failure); returns their exit codes and docker's calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake(bin_dir, "gcloud", FAKE_GCLOUD)
    fake(bin_dir, "docker", FAKE_DOCKER)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    log = tmp_path / "docker.log"
    values = {
        "_REGION": "us-central1",
        "_REPOSITORY": "ledger",
        "_SERVICE": "ledger",
        "PROJECT_ID": "p",
        "COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
    }
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_DESCRIBE": describe,
        "FAKE_LOG": str(log),
    }
    codes = []
    for step_id in ("find-pushed-image", "build-image", "push-image"):
        text = render(script(step(steps, step_id)), values, workspace)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", text], env=env, capture_output=True, check=False
        )
        codes.append(done.returncode)
        if done.returncode:
            break
    calls = log.read_text().splitlines() if log.exists() else []
    return codes, calls


def test_a_commit_pushed_before_is_neither_built_nor_pushed_again(steps, tmp_path):
    codes, calls = run_push_steps(steps, tmp_path, "digest:sha256:" + "a" * 64)
    assert codes == [0, 0, 0]
    assert calls == []


def test_a_new_commit_is_built_and_pushed(steps, tmp_path):
    codes, calls = run_push_steps(steps, tmp_path, "missing")
    assert codes == [0, 0, 0]
    assert calls == [
        "build --pull",
        "push us-central1-docker.pkg.dev/p/ledger/ledger:"
        + "0123456789abcdef0123456789abcdef01234567",
    ]


def test_a_failed_look_up_fails_the_build_rather_than_guessing(steps, tmp_path):
    codes, calls = run_push_steps(steps, tmp_path, "denied")
    assert codes == [1]
    assert calls == []


# --- identity, secrets, logging ---------------------------------------------------------


def test_build_logs_go_to_cloud_logging_only(config):
    assert config["options"]["logging"] == "CLOUD_LOGGING_ONLY"


def test_nothing_is_made_public():
    text = BUILD_CONFIG.read_text()
    assert "allUsers" not in text
    assert "allAuthenticatedUsers" not in text


def test_no_key_material_or_key_files():
    text = BUILD_CONFIG.read_text()
    assert "-----BEGIN" not in text
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in text
    assert not re.search(r"\.json\b", text)
    assert "keys create" not in text


# --- substitutions ---------------------------------------------------------------------


def test_every_substitution_used_is_declared_or_built_in(config):
    used = substitution_refs(yaml.safe_dump(config["steps"])) | substitution_refs(
        config["serviceAccount"]
    )
    unknown = used - set(config["substitutions"]) - BUILT_IN_SUBSTITUTIONS
    assert unknown == set()


def test_shell_variables_are_escaped_from_cloud_build(steps):
    # A lowercase $name in a script is a shell variable: Cloud Build must see it as $$name.
    for s in steps:
        unescaped = args_text(s).replace("$$", "")
        assert not re.search(r"\$\{?[a-z]", unescaped), s["id"]


def test_the_trigger_passes_exactly_the_declared_substitutions(config):
    assert set(local_map("build_substitutions")) == set(config["substitutions"])
