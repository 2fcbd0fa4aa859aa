"""cloudbuild.yaml, read as data: the delivery pipeline's order, identity and privacy.

Pure file parsing: nothing here talks to Google Cloud.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.support import ROOT

CLOUDBUILD = ROOT / "cloudbuild.yaml"
TRIGGER_TF = ROOT / "infra" / "cloud_build.tf"

IMAGE = "${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_SERVICE}:$COMMIT_SHA"

# What Cloud Build itself substitutes (for all builds, or for triggered / manual
# builds that pass them), see "Substituting variable values" in the Cloud Build docs.
BUILT_IN_SUBSTITUTIONS = {
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "BUILD_ID",
    "LOCATION",
    "COMMIT_SHA",
    "SHORT_SHA",
    "REVISION_ID",
    "REPO_NAME",
    "REPO_FULL_NAME",
    "BRANCH_NAME",
    "TAG_NAME",
    "REF_NAME",
    "TRIGGER_NAME",
    "TRIGGER_BUILD_CONFIG_PATH",
    "SERVICE_ACCOUNT_EMAIL",
    "SERVICE_ACCOUNT",
}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded = yaml.safe_load(CLOUDBUILD.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def steps(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config["steps"])


def step(steps: list[dict[str, Any]], step_id: str) -> dict[str, Any]:
    matches = [s for s in steps if s.get("id") == step_id]
    assert len(matches) == 1, f"expected exactly one step with id {step_id!r}"
    return matches[0]


def position(steps: list[dict[str, Any]], step_id: str) -> int:
    return steps.index(step(steps, step_id))


def args_text(s: dict[str, Any]) -> str:
    return "\n".join(str(a) for a in s.get("args", []))


def env_of(s: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in s.get("env", []))


def substitution_refs(text: str) -> set[str]:
    """Names Cloud Build would substitute in ``text`` ($$ is an escaped dollar)."""
    unescaped = text.replace("$$", "")
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", unescaped))


# --- order -----------------------------------------------------------------------


def test_steps_run_in_delivery_order(steps):
    order = ["test", "build-image", "push-image", "migrate", "deploy", "smoke-test"]
    positions = [position(steps, step_id) for step_id in order]
    assert positions == sorted(positions)


def test_tests_pass_before_the_image_is_pushed(steps):
    assert position(steps, "test") < position(steps, "push-image")


def test_schema_is_migrated_before_the_deploy(steps):
    assert position(steps, "migrate") < position(steps, "deploy")


def test_every_step_waits_for_the_one_before_it(steps):
    # No waitFor: Cloud Build then runs each step after all previous ones have succeeded.
    assert [s["id"] for s in steps if "waitFor" in s] == []


def test_no_step_may_fail_without_failing_the_build(steps):
    tolerant = [s["id"] for s in steps if s.get("allowFailure") or s.get("allowExitCodes")]
    assert tolerant == []


# --- 1. tests against an emulator --------------------------------------------------


def test_emulator_runs_detached_on_the_build_network_before_the_tests(steps):
    emulator = step(steps, "start-emulator")
    args = emulator["args"]
    assert position(steps, "start-emulator") < position(steps, "test")
    assert args[0] == "run"
    assert "--detach" in args
    assert "--network=cloudbuild" in args
    assert args[-1].startswith("gcr.io/cloud-spanner-emulator/emulator:")


def test_tests_are_pointed_at_the_build_emulator(steps):
    name = next(
        a.split("=", 1)[1] for a in step(steps, "start-emulator")["args"] if a.startswith("--name=")
    )
    assert env_of(step(steps, "test"))["LEDGER_TEST_EMULATOR_HOST"] == f"{name}:9010"


def test_test_step_runs_the_full_test_command(steps):
    assert re.search(r"^\s*make test\s*$", args_text(step(steps, "test")), re.MULTILINE)


# --- 2. build and push ---------------------------------------------------------------


def test_image_is_tagged_with_the_commit_sha(steps):
    assert f"--tag={IMAGE}" in step(steps, "build-image")["args"]


def test_the_built_image_is_the_one_pushed(steps):
    assert step(steps, "push-image")["args"] == ["push", IMAGE]


# --- 3. migrate ------------------------------------------------------------------------


def test_migrations_run_from_the_pushed_image(steps):
    migrate = step(steps, "migrate")
    assert migrate["name"] == IMAGE
    assert [migrate["entrypoint"], *migrate["args"]] == [
        "python",
        "-m",
        "api.spanner.migrations",
        "up",
    ]


def test_migrations_target_the_real_database(steps):
    env = env_of(step(steps, "migrate"))
    assert env["LEDGER_SPANNER_INSTANCE"] == "${_SPANNER_INSTANCE}"
    assert env["LEDGER_SPANNER_DATABASE"] == "${_SPANNER_DATABASE}"
    assert "SPANNER_EMULATOR_HOST" not in env


# --- 4. deploy -----------------------------------------------------------------------


def test_deploy_ships_the_pushed_image(steps):
    assert f"--image={IMAGE}" in step(steps, "deploy")["args"]


def test_deploy_keeps_the_service_private(steps):
    args = step(steps, "deploy")["args"]
    assert "--no-allow-unauthenticated" in args
    assert "--allow-unauthenticated" not in args


def test_deploy_runs_the_service_as_the_runtime_account(steps):
    assert "--service-account=${_RUNTIME_SA}" in step(steps, "deploy")["args"]


def test_deploy_takes_scaling_and_timeouts_from_substitutions(steps):
    args = step(steps, "deploy")["args"]
    for flag in (
        "--cpu-boost",
        "--min-instances=${_MIN_INSTANCES}",
        "--concurrency=${_CONCURRENCY}",
        "--timeout=${_TIMEOUT}",
    ):
        assert flag in args


# --- 5. smoke test --------------------------------------------------------------------


def test_smoke_test_checks_readiness_and_one_read(steps):
    script = args_text(step(steps, "smoke-test"))
    assert "call /readyz" in script
    assert "call '/v1/accounts?page_size=1'" in script


def test_smoke_test_authenticates_with_an_id_token_for_the_service_url(steps):
    script = args_text(step(steps, "smoke-test"))
    assert "service-accounts/default/identity?audience=$$url" in script
    assert 'Authorization: Bearer $$token"' in script


# --- identity, secrets, logging ---------------------------------------------------------


def test_build_runs_as_its_dedicated_service_account(config):
    assert config["serviceAccount"] == "projects/$PROJECT_ID/serviceAccounts/${_BUILD_SA}"
    default = config["substitutions"]["_BUILD_SA"]
    assert not default.endswith(
        ("cloudbuild.gserviceaccount.com", "-compute@developer.gserviceaccount.com")
    )


def test_build_logs_go_to_cloud_logging_only(config):
    assert config["options"]["logging"] == "CLOUD_LOGGING_ONLY"


def test_nothing_is_made_public():
    text = CLOUDBUILD.read_text()
    assert "allUsers" not in text
    assert "allAuthenticatedUsers" not in text


def test_no_key_material_or_key_files():
    text = CLOUDBUILD.read_text()
    assert "-----BEGIN" not in text
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in text
    assert not re.search(r"\.json\b", text)
    assert "keys create" not in text


# --- substitutions ---------------------------------------------------------------------


def test_the_substitutions_the_issue_names_are_declared(config):
    required = {
        "_REGION",
        "_SPANNER_INSTANCE",
        "_SPANNER_DATABASE",
        "_SERVICE",
        "_REPOSITORY",
        "_RUNTIME_SA",
        "_MIN_INSTANCES",
        "_CONCURRENCY",
        "_TIMEOUT",
    }
    assert required <= set(config["substitutions"])


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
    text = TRIGGER_TF.read_text()
    block = re.search(r"build_substitutions = \{(.*?)\n  \}", text, re.DOTALL)
    assert block is not None
    passed = set(re.findall(r"^\s*(_[A-Z0-9_]+)\s*=", block.group(1), re.MULTILINE))
    assert passed == set(config["substitutions"])
