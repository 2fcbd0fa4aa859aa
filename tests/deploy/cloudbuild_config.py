"""Reading Cloud Build configs as data, and rendering a step's script the way Cloud Build
would before bash sees it. Shared by the tests of cloudbuild.yaml and
cloudbuild-deploy.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support import ROOT

BUILD_CONFIG = ROOT / "cloudbuild.yaml"
DEPLOY_CONFIG = ROOT / "cloudbuild-deploy.yaml"

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

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def step(steps: list[dict[str, Any]], step_id: str) -> dict[str, Any]:
    matches = [s for s in steps if s.get("id") == step_id]
    assert len(matches) == 1, f"expected exactly one step with id {step_id!r}"
    return matches[0]


def position(steps: list[dict[str, Any]], step_id: str) -> int:
    return steps.index(step(steps, step_id))


def args_text(s: dict[str, Any]) -> str:
    return "\n".join(str(a) for a in s.get("args", []))


def script(s: dict[str, Any]) -> str:
    """The script of a `bash -euo pipefail -c SCRIPT` step."""
    assert s.get("entrypoint") == "bash", s.get("id")
    args = s["args"]
    assert args[:3] == ["-euo", "pipefail", "-c"] and len(args) == 4, s.get("id")
    return str(args[3])


def sidecars(steps: list[dict[str, Any]]) -> dict[str, str]:
    """The containers the build starts beside its steps (`docker run --detach
    --name=NAME --network=cloudbuild IMAGE ARGS...`): NAME to "IMAGE ARGS..."."""
    found = {}
    for s in steps:
        text = script(s) if s.get("entrypoint") == "bash" else " ".join(s.get("args", []))
        for run in re.findall(r"docker run (.*?)(?:\n(?!\s)|$)", text.replace("\\\n", " ")):
            words = run.split()
            if "--detach" in words and "--network=cloudbuild" in words:
                [name] = [w.split("=", 1)[1] for w in words if w.startswith("--name=")]
                image = next(i for i, w in enumerate(words) if not w.startswith("--"))
                found[name] = " ".join(words[image:])
    return found


def env_of(s: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in s.get("env", []))


def substitution_refs(text: str) -> set[str]:
    """Names Cloud Build would substitute in ``text`` ($$ is an escaped dollar)."""
    unescaped = text.replace("$$", "")
    return {a or b for a, b in _REFERENCE.findall(unescaped)}


def render(text: str, values: dict[str, str], workspace: Path) -> str:
    """``text`` after Cloud Build's substitution (unknown names become empty, as with
    ALLOW_LOOSE), with /workspace pointing at ``workspace``."""
    escaped = text.replace("$$", "\0")
    substituted = _REFERENCE.sub(lambda m: values.get(m.group(1) or m.group(2), ""), escaped)
    return substituted.replace("\0", "$").replace("/workspace", str(workspace))
