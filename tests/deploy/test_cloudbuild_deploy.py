"""cloudbuild-deploy.yaml, the half that runs after approval: the step graph (image ->
migrate -> revision with no traffic and a tag -> smoke test of the tag -> traffic), what
each step may do, and that traffic only ever moves to the revision that passed.

The structure is read as data. The bash steps also run, in order and as Cloud Build
would render them, against stand-ins for gcloud (a Cloud Run service and an image
repository kept in a JSON file), curl and sleep: that checks this file's logic - which
revision is tested, what a failure leaves behind - not Google's behaviour.
"""

from __future__ import annotations

import json
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
    BUILT_IN_SUBSTITUTIONS,
    DEPLOY_CONFIG,
    args_text,
    env_of,
    load,
    position,
    render,
    script,
    step,
    substitution_refs,
)
from tests.deploy.hcl import local_map

TAGGED_IMAGE = "${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_SERVICE}:$COMMIT_SHA"
ORDER = [
    "resolve-image", "migrate", "deploy-no-traffic", "smoke-test-tag", "shift-traffic",
    "ship-relay",
]  # fmt: skip


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load(DEPLOY_CONFIG)


@pytest.fixture(scope="module")
def steps(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config["steps"])


# --- the graph ---------------------------------------------------------------------------


def test_steps_run_in_deploy_order(steps):
    assert [s["id"] for s in steps] == ORDER


def test_every_step_waits_for_the_one_before_it(steps):
    assert [s["id"] for s in steps if "waitFor" in s] == []


def test_no_step_may_fail_without_failing_the_build(steps):
    tolerant = [s["id"] for s in steps if s.get("allowFailure") or s.get("allowExitCodes")]
    assert tolerant == []


def test_only_the_last_step_moves_traffic(steps):
    movers = [s["id"] for s in steps if "update-traffic" in args_text(s)]
    assert movers == ["shift-traffic"]
    assert "--to-latest" not in DEPLOY_CONFIG.read_text()


def test_the_deploy_neither_tests_nor_builds_nor_pushes():
    # That is the build half's job, as an account that cannot touch the database.
    text = DEPLOY_CONFIG.read_text()
    assert "make test" not in text
    assert "docker build" not in text and "docker push" not in text


# --- 1. the image, by digest --------------------------------------------------------------


def test_the_image_deployed_is_the_digest_of_the_commit_tag(steps):
    text = script(step(steps, "resolve-image"))
    assert 'gcloud artifacts docker images describe "$$repository:$COMMIT_SHA"' in text
    assert "--format='value(image_summary.digest)'" in text
    assert 'echo "$$repository@$$digest" > /workspace/image' in text


# --- 2. migrate --------------------------------------------------------------------------------


def test_migrations_run_from_the_commit_image(steps):
    migrate = step(steps, "migrate")
    assert migrate["name"] == TAGGED_IMAGE
    assert [migrate["entrypoint"], *migrate["args"]] == [
        "python",
        "-m",
        "api.migrate",
        "up",
    ]


def test_migrations_target_the_real_database(steps):
    env = env_of(step(steps, "migrate"))
    assert env["LEDGER_SPANNER_INSTANCE"] == "${_SPANNER_INSTANCE}"
    assert env["LEDGER_SPANNER_DATABASE"] == "${_SPANNER_DATABASE}"
    assert "SPANNER_EMULATOR_HOST" not in env


def test_the_migration_exports_no_client_metrics(steps):
    assert env_of(step(steps, "migrate"))["SPANNER_DISABLE_BUILTIN_METRICS"] == "true"


def test_schema_is_migrated_before_any_revision_of_it_is_deployed(steps):
    assert position(steps, "migrate") < position(steps, "deploy-no-traffic")


# --- 3. deploy with no traffic -------------------------------------------------------------


def deploy_flags(steps: list[dict[str, Any]]) -> list[str]:
    text = script(step(steps, "deploy-no-traffic"))
    return [f.strip() for f in re.findall(r"(--[a-z-]+(?:=\S+)?)", text)]


def test_the_new_revision_gets_no_traffic_and_a_tag(steps):
    flags = deploy_flags(steps)
    assert "--no-traffic" in flags
    assert '--tag="$$(cat' in " ".join(flags)
    assert '--image="$$(cat /workspace/image)"' in script(step(steps, "deploy-no-traffic"))


def test_deploy_keeps_the_service_private(steps):
    flags = deploy_flags(steps)
    assert "--no-allow-unauthenticated" in flags
    assert "--allow-unauthenticated" not in flags


def test_deploy_runs_the_service_as_the_runtime_account(steps):
    assert '--service-account="${_RUNTIME_SA}"' in deploy_flags(steps)


def test_deploy_takes_scaling_and_timeouts_from_substitutions(steps):
    flags = deploy_flags(steps)
    for flag in (
        "--cpu-boost",
        '--min-instances="${_MIN_INSTANCES}"',
        '--concurrency="${_CONCURRENCY}"',
        '--timeout="${_TIMEOUT}"',
    ):
        assert flag in flags


# --- 4. smoke test of the tag ------------------------------------------------------------------


def test_the_smoke_test_calls_a_v1_read_never_a_path_ending_in_z(steps):
    text = script(step(steps, "smoke-test-tag"))
    assert "call '/v1/accounts?page_size=1'" in text
    assert not re.search(r"call '?/\w*z\b", text)


def test_the_smoke_test_authenticates_with_an_id_token_for_the_service_url(steps):
    text = script(step(steps, "smoke-test-tag"))
    assert 'audience="https://${_SERVICE}-$PROJECT_NUMBER.${_REGION}.run.app"' in text
    assert "service-accounts/default/identity?audience=$$audience" in text
    assert 'Authorization: Bearer $$token"' in text


def test_the_smoke_test_comes_before_traffic_moves(steps):
    assert position(steps, "deploy-no-traffic") < position(steps, "smoke-test-tag")
    assert position(steps, "smoke-test-tag") < position(steps, "shift-traffic")


# --- identity, logging, substitutions -----------------------------------------------------------


def test_deploy_runs_as_its_dedicated_service_account(config):
    assert config["serviceAccount"] == "projects/$PROJECT_ID/serviceAccounts/${_DEPLOY_SA}"
    assert config["substitutions"]["_DEPLOY_SA"].startswith("ledger-deploy@")


def test_deploy_logs_go_to_cloud_logging_only(config):
    assert config["options"]["logging"] == "CLOUD_LOGGING_ONLY"


def test_nothing_is_made_public_and_no_key_is_used():
    text = DEPLOY_CONFIG.read_text()
    assert "allUsers" not in text and "allAuthenticatedUsers" not in text
    assert "-----BEGIN" not in text and "GOOGLE_APPLICATION_CREDENTIALS" not in text
    assert "keys create" not in text


def test_every_substitution_used_is_declared_or_built_in(config):
    used = substitution_refs(yaml.safe_dump(config["steps"])) | substitution_refs(
        config["serviceAccount"]
    )
    assert used - set(config["substitutions"]) - BUILT_IN_SUBSTITUTIONS == set()


def test_shell_variables_are_escaped_from_cloud_build(steps):
    for s in steps:
        unescaped = args_text(s).replace("$$", "")
        assert not re.search(r"\$\{?[a-z]", unescaped), s["id"]


def test_the_trigger_passes_exactly_the_declared_substitutions(config):
    assert set(local_map("deploy_substitutions")) == set(config["substitutions"])


# --- running the steps against a stand-in Cloud Run ---------------------------------------------

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TAG = "c-0123456789ab"
REPOSITORY = "us-central1-docker.pkg.dev/p/ledger/ledger"
DIGEST = "sha256:" + "b" * 64
SERVICE_URL = "https://ledger-123.us-central1.run.app"

# gcloud: the few commands the steps use, on a service and a repository kept in
# $FAKE_STATE. A tag is moved, never duplicated, as gcloud does.
FAKE_GCLOUD = r"""
import json, os, sys
path = os.environ["FAKE_STATE"]
state = json.load(open(path))
argv = sys.argv[1:]
flags = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
switches = {a[2:] for a in argv if a.startswith("--") and "=" not in a}
traffic = state["traffic"]

def save():
    json.dump(state, open(path, "w"))

if argv[:4] == ["artifacts", "docker", "images", "describe"]:
    if state.get("registry_error"):
        sys.exit("ERROR: PERMISSION_DENIED")
    digest = state["images"].get(argv[4])
    if digest is None:
        sys.exit("ERROR: NOT_FOUND: image not found")
    print(digest)
elif argv[:2] == ["run", "deploy"]:
    n = len(state["revisions"]) + 1
    name = f"ledger-{n:05d}-new"
    state["revisions"][name] = flags["image"]
    assert "no-traffic" in switches, "this fake deploys with --no-traffic only"
    for target in traffic:
        if target.get("tag") == flags["tag"]:
            target.pop("tag"); target.pop("url", None)
    traffic.append({"revisionName": name, "tag": flags["tag"],
                    "url": f"https://{flags['tag']}---ledger-xyz-uc.a.run.app"})
    save()
elif argv[:3] == ["run", "services", "describe"]:
    if flags.get("format") == "json":
        print(json.dumps({"status": {"traffic": traffic}}))
    else:
        print(";".join(f"{t['revisionName']}={t.get('percent', 0)}" for t in traffic))
elif argv[:3] == ["run", "revisions", "describe"]:
    print(state["revisions"][argv[3]])
elif argv[:3] == ["run", "services", "update"]:
    state["relay_image"] = flags["image"]
    save()
elif argv[:3] == ["run", "services", "update-traffic"]:
    revision, percent = flags["to-revisions"].split("=")
    for target in traffic:
        target.pop("percent", None)
        if target.get("tag") in flags.get("remove-tags", "").split(","):
            target.pop("tag"); target.pop("url", None)
    traffic.append({"revisionName": revision, "percent": int(percent)})
    state["traffic"] = [t for t in traffic if t.get("percent") or t.get("tag")]
    save()
else:
    sys.exit(f"fake gcloud: unexpected {argv}")
"""

# curl: the metadata server's identity endpoint, and the service at a tag URL, which
# answers with the status $FAKE_STATE gives that tag's revision (200 by default).
FAKE_CURL = r"""
import json, os, sys
state = json.load(open(os.environ["FAKE_STATE"]))
argv = sys.argv[1:]
url = argv[-1]
if url.startswith("http://metadata.google.internal/"):
    state.setdefault("token_requests", []).append(url)
    json.dump(state, open(os.environ["FAKE_STATE"], "w"))
    print("token-for-" + url.split("audience=")[1].split("&")[0])
    sys.exit(0)
headers = [argv[i + 1] for i, a in enumerate(argv) if a == "-H"]
output = argv[argv.index("--output") + 1]
host = url.split("://")[1].split("/")[0]
[target] = [t for t in state["traffic"] if t.get("url", "").endswith(host)]
status = state.get("answers", {}).get(target["revisionName"], 200)
state.setdefault("calls", []).append({"url": url, "headers": headers})
json.dump(state, open(os.environ["FAKE_STATE"], "w"))
open(output, "w").write('{"items": []}' if status == 200 else '{"status": %d}' % status)
sys.stdout.write(str(status))
"""


class FakeCloud:
    def __init__(self, tmp_path: Path, steps: list[dict[str, Any]]) -> None:
        self.steps = steps
        self.workspace = tmp_path / "workspace"
        self.workspace.mkdir()
        self.state_path = tmp_path / "state.json"
        self.bin_dir = tmp_path / "bin"
        self.bin_dir.mkdir()
        for name, body in {"gcloud": FAKE_GCLOUD, "curl": FAKE_CURL}.items():
            self.install(name, f"#!{sys.executable}\n{body}")
        self.install("sleep", "#!/bin/sh\n")
        self.env = {**os.environ, "PATH": f"{self.bin_dir}:{os.environ['PATH']}"}
        self.env["FAKE_STATE"] = str(self.state_path)
        self.save(
            {
                "images": {f"{REPOSITORY}:{COMMIT}": DIGEST},
                "revisions": {"ledger-00001-old": f"{REPOSITORY}@sha256:{'a' * 64}"},
                "traffic": [{"revisionName": "ledger-00001-old", "percent": 100}],
            }
        )
        self.values = {
            "_REGION": "us-central1",
            "_REPOSITORY": "ledger",
            "_SERVICE": "ledger",
            "_RUNTIME_SA": "ledger-runtime@p.iam.gserviceaccount.com",
            "_MIN_INSTANCES": "1",
            "_MAX_INSTANCES": "10",
            "_CONCURRENCY": "80",
            "_TIMEOUT": "30s",
            "_RELAY_SERVICE": "ledger-events",
            "PROJECT_ID": "p",
            "PROJECT_NUMBER": "123",
            "COMMIT_SHA": COMMIT,
        }

    def install(self, name: str, text: str) -> None:
        path = self.bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)

    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state_path.read_text())
        return loaded

    def save(self, state: dict[str, Any]) -> None:
        self.state_path.write_text(json.dumps(state))

    def run(self, step_id: str) -> subprocess.CompletedProcess[str]:
        text = render(script(step(self.steps, step_id)), self.values, self.workspace)
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", text],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def build(self) -> list[tuple[str, int]]:
        """Every step in order as Cloud Build runs them, stopping at the first failure.
        The migrate step runs the image itself and is not run here."""
        results = []
        for step_id in ORDER:
            if step_id == "migrate":
                continue
            done = self.run(step_id)
            results.append((step_id, done.returncode))
            if done.returncode:
                break
        return results

    def serving(self) -> dict[str, int]:
        return {
            t["revisionName"]: t["percent"] for t in self.state()["traffic"] if t.get("percent")
        }


@pytest.fixture
def cloud(tmp_path: Path, steps: list[dict[str, Any]]) -> FakeCloud:
    return FakeCloud(tmp_path, steps)


def test_the_relay_ships_the_image_the_ledger_now_serves(cloud):
    cloud.build()

    assert cloud.state()["relay_image"] == f"{REPOSITORY}@{DIGEST}"


def test_the_relay_keeps_its_image_when_the_smoke_test_fails(cloud):
    state = cloud.state()
    state["answers"] = {"ledger-00002-new": 500}
    cloud.save(state)

    cloud.build()

    assert "relay_image" not in cloud.state()


def test_a_project_without_the_relay_skips_its_step(cloud):
    cloud.values["_RELAY_SERVICE"] = ""

    assert cloud.build()[-1] == ("ship-relay", 0)
    assert "relay_image" not in cloud.state()


def test_a_passing_revision_gets_all_the_traffic_and_loses_its_tag(cloud):
    assert cloud.build() == [(s, 0) for s in ORDER if s != "migrate"]
    assert cloud.serving() == {"ledger-00002-new": 100}
    state = cloud.state()
    assert state["revisions"]["ledger-00002-new"] == f"{REPOSITORY}@{DIGEST}"
    assert not [t for t in state["traffic"] if t.get("tag")]


def test_the_smoke_test_calls_the_tag_url_with_a_token_for_the_service_url(cloud):
    cloud.build()
    state = cloud.state()
    [call] = state["calls"]
    assert call["url"] == f"https://{TAG}---ledger-xyz-uc.a.run.app/v1/accounts?page_size=1"
    token = f"token-for-{SERVICE_URL}"
    assert sorted(call["headers"]) == [
        f"Authorization: Bearer {token}",
        f"X-Serverless-Authorization: Bearer {token}",
    ]


def test_a_failing_revision_gets_no_traffic_and_the_build_fails(cloud):
    state = cloud.state()
    state["answers"] = {"ledger-00002-new": 503}
    cloud.save(state)
    assert cloud.build()[-1] == ("smoke-test-tag", 1)
    assert cloud.serving() == {"ledger-00001-old": 100}
    assert not (cloud.workspace / "candidate").exists()
    # Even run out of order, the traffic step has nothing to move traffic to.
    assert cloud.run("shift-traffic").returncode != 0
    assert cloud.serving() == {"ledger-00001-old": 100}


def test_a_tag_on_a_revision_of_another_image_is_not_smoke_tested(cloud):
    cloud.run("resolve-image")
    cloud.run("deploy-no-traffic")
    state = cloud.state()
    state["revisions"]["ledger-00002-new"] = f"{REPOSITORY}@sha256:{'c' * 64}"
    cloud.save(state)
    done = cloud.run("smoke-test-tag")
    assert done.returncode == 1
    assert "not " + f"{REPOSITORY}@{DIGEST}" in done.stderr
    assert "calls" not in cloud.state()
    assert cloud.serving() == {"ledger-00001-old": 100}


def test_a_retry_of_the_same_commit_tests_and_ships_its_own_revision(cloud):
    state = cloud.state()
    state["answers"] = {"ledger-00002-new": 500}
    cloud.save(state)
    assert cloud.build()[-1] == ("smoke-test-tag", 1)
    (cloud.workspace / "image").unlink()
    assert cloud.build() == [(s, 0) for s in ORDER if s != "migrate"]
    assert cloud.serving() == {"ledger-00003-new": 100}


def test_the_deploy_waits_for_the_image_the_build_half_is_still_testing(cloud):
    # The image shows up at the third look (a shell stand-in: cheaper than the fake).
    polls = cloud.workspace.parent / "polls"
    cloud.install(
        "gcloud",
        f"""#!/bin/sh
echo x >> {polls}
if [ "$(wc -l < {polls})" -lt 3 ]; then echo "NOT_FOUND: image not found" >&2; exit 1; fi
echo {DIGEST}
""",
    )
    done = cloud.run("resolve-image")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("waiting for") == 2
    assert (cloud.workspace / "image").read_text() == f"{REPOSITORY}@{DIGEST}\n"


def test_the_deploy_gives_up_on_an_image_that_never_comes(cloud):
    cloud.install("gcloud", '#!/bin/sh\necho "NOT_FOUND: image not found" >&2\nexit 1\n')
    done = cloud.run("resolve-image")
    assert done.returncode == 1
    assert "after 40 minutes" in done.stderr
    assert done.stdout.count("waiting for") == 79
    assert not (cloud.workspace / "image").exists()


def test_a_registry_error_fails_the_deploy_at_once(cloud):
    state = cloud.state()
    state["registry_error"] = True
    cloud.save(state)
    done = cloud.run("resolve-image")
    assert done.returncode == 1
    assert "PERMISSION_DENIED" in done.stderr
    assert "waiting for" not in done.stdout
