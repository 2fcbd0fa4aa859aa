"""docs/DEPLOY.md's path from an empty project (sections 2 to 4), held to what the
resources in infra/ need: it applies the Terraform variables in an order they allow.

What a resource needs is read from the HCL: a Cloud Run service that runs the ledger's
code with a command of its own (the relay) needs an image with that code and the
database role the first migration creates, so it must be gated by a variable that the
page sets only after the first deploy; every secret a service reads needs a version
before the service (tests/deploy/test_infra.py). The page is read as the commands of its
code blocks, in order.
"""

from __future__ import annotations

import re

import pytest

from tests.deploy.hcl import INFRA, attribute, blocks
from tests.support import ROOT

DEPLOY = (ROOT / "docs" / "DEPLOY.md").read_text()


def first_deploy_commands() -> list[str]:
    """The shell lines of sections 2 to 4, continuation lines joined, in page order."""
    start, end = DEPLOY.index("## 2. "), DEPLOY.index("## 5. ")
    blocks_ = re.findall(r"```sh\n(.*?)```", DEPLOY[start:end], re.DOTALL)
    text = "\n".join(blocks_).replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip()]


def position(commands: list[str], pattern: str) -> int:
    found = [i for i, line in enumerate(commands) if re.search(pattern, line)]
    assert found, f"the first deploy never runs {pattern!r}"
    return found[0]


def applies(commands: list[str]) -> list[int]:
    apply = re.compile(r"^terraform (-chdir=\S+ )?apply")
    return [i for i, line in enumerate(commands) if apply.search(line)]


def variables_set(line: str) -> set[str]:
    """Variables a line writes into terraform.tfvars (echo 'name = ...' >> ...tfvars)."""
    match = re.match(r"""^echo ["'](\w+) = .*>> \S*terraform\.tfvars$""", line)
    return {match.group(1)} if match else set()


def gated_services() -> dict[str, str]:
    """Cloud Run services that run the ledger's code with a command of their own:
    name -> the variable that holds their image (and must gate their count)."""
    gated = {}
    for name, body in blocks("resource", "google_cloud_run_v2_service").items():
        if attribute(body, "command"):
            image = attribute(body, "image") or ""
            assert image.startswith("var."), f"{name} runs {image}: the first apply has no image"
            gated[name] = image.removeprefix("var.")
    return gated


def test_services_that_need_a_migrated_database_wait_for_a_variable_set_after_the_first_deploy():
    assert gated_services() == {"google_cloud_run_v2_service.relay": "events_relay_image"}
    for name, variable in gated_services().items():
        assert attribute(blocks("variable")[variable], "default") == '""', variable
        count = attribute(blocks("resource", "google_cloud_run_v2_service")[name], "count") or ""
        assert re.search(rf"var\.{variable} != \"\"", source_of_local(count)), name


def source_of_local(expression: str) -> str:
    """``expression``, with a `local.x` it names replaced by x's definition."""
    local = re.search(r"local\.(\w+)", expression)
    if local is None:
        return expression
    text = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    definition = re.search(rf"^  {local.group(1)} = (.+)$", text, re.MULTILINE)
    assert definition is not None, local.group(0)
    return definition.group(1)


def test_the_placeholder_image_runs_no_command_of_ours():
    for name, body in blocks("resource", "google_cloud_run_v2_service").items():
        if attribute(body, "image") == "var.initial_image":
            assert attribute(body, "command") is None, name


def test_the_first_apply_comes_before_any_build():
    commands = first_deploy_commands()
    first_apply = applies(commands)[0]
    assert first_apply < position(commands, r"gcloud builds submit --config cloudbuild\.yaml")
    assert first_apply < position(commands, r"gcloud builds submit --config cloudbuild-deploy")


@pytest.mark.parametrize("variable", sorted(set(gated_services().values())))
def test_a_gated_variable_is_set_only_after_the_first_deploy_migrated_and_then_applied(variable):
    commands = first_deploy_commands()
    deployed = position(commands, r"gcloud builds submit --config cloudbuild-deploy\.yaml")
    sets = [i for i, line in enumerate(commands) if variable in variables_set(line)]
    assert sets, f"the first deploy never sets {variable}"
    assert min(sets) > deployed, f"{variable} is set before the first deploy migrated"
    assert [i for i in applies(commands) if i > min(sets)], f"{variable} is set but not applied"


@pytest.mark.parametrize("variable", sorted(set(gated_services().values())))
def test_the_example_tfvars_leaves_gated_variables_unset(variable):
    example = (INFRA / "terraform.tfvars.example").read_text()
    assert not re.search(rf"^\s*{variable}\s*=", example, re.MULTILINE)


def test_the_gated_image_is_the_one_the_ledger_serves_by_digest():
    commands = first_deploy_commands()
    [line] = [c for c in commands if "events_relay_image" in variables_set(c)]
    assert '"$IMAGE"' in line.replace('\\"', '"')
    image = [c for c in commands if c.startswith("IMAGE=$(gcloud run revisions describe")]
    assert image and "spec.containers[0].image" in image[0]
    assert "@sha256:" in (attribute(blocks("variable")["events_relay_image"], "condition") or "")


def test_the_page_says_the_relay_must_start_within_the_stream_retention():
    section = DEPLOY[DEPLOY.index("## 4. ") : DEPLOY.index("## 5. ")]
    assert "Within 7 days of step 3" in section
    assert "OPERATIONS.md#the-relay-refused-to-start" in section
