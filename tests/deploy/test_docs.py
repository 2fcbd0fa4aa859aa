"""What the deployment docs tell people to run: nothing that cannot work on Cloud Run, and
the runbook steps the issue asks for.

Text checks only; the commands themselves are not run here (docs/DEPLOY.md, "Not
verified without a live project").
"""

from __future__ import annotations

import re

import pytest

from api.audit.report import KINDS
from tests.support import ROOT

DOCS = {
    name: (ROOT / name).read_text()
    for name in (
        "README.md",
        "docs/DEPLOY.md",
        "docs/OPERATIONS.md",
        "docs/SECURITY.md",
        "infra/README.md",
    )
}
OPERATIONS = DOCS["docs/OPERATIONS.md"]


@pytest.mark.parametrize("name", sorted(DOCS))
def test_no_doc_curls_a_path_ending_in_z_on_cloud_run(name):
    # Cloud Run's public URL answers /healthz (and maybe /readyz) with Google's own 404.
    for line in DOCS[name].splitlines():
        if "curl" in line and re.search(r"/(healthz|readyz)\b", line):
            assert re.search(r"localhost|127\.0\.0\.1", line), line


def test_the_source_deploy_is_described_as_building_the_dockerfile():
    deploy = DOCS["docs/DEPLOY.md"]
    assert "`gcloud run deploy --source .` builds that `Dockerfile`" in deploy
    assert "(Google's Python buildpack, no Dockerfile needed)" not in deploy


@pytest.mark.parametrize("name", sorted(DOCS))
def test_no_doc_offers_streaming_logs_of_cloud_logging_only_builds(name):
    for line in DOCS[name].splitlines():
        if "builds log --stream" in line:
            assert re.search(r"not|nothing", line), line


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_repository_path_a_doc_names_exists(name):
    paths = re.findall(r"`((?:tests|infra|docs|api|spanner_ddl)/[\w./-]+\.\w+)`", DOCS[name])
    paths += re.findall(r"`(cloudbuild[\w-]*\.yaml)`", DOCS[name])
    named = {p for p in paths if "NNNN" not in p} - {"infra/terraform.tfvars"}  # yours to write
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == []


def test_the_runbook_restores_to_a_new_database_at_a_version_time():
    assert re.search(r"gcloud spanner backups create .*\n.*--version-time=", OPERATIONS)
    assert OPERATIONS.count("gcloud spanner databases restore") >= 2
    assert '--destination-database="$NEW"' in OPERATIONS


def test_the_runbook_checks_the_restored_database_and_switches_the_service():
    checks = OPERATIONS[OPERATIONS.index("### 3. Check it") : OPERATIONS.index("### 4.")]
    assert "SUM(CreditsPosted) - SUM(DebitsPosted)" in checks
    switch = OPERATIONS[OPERATIONS.index("### 5. Switch") :]
    for command in ("add-iam-policy-binding", "--no-traffic --tag=restore", "update-traffic"):
        assert command in switch


def test_the_runbook_audits_the_restored_database_with_the_job_before_switching():
    start = OPERATIONS.index("### 4. Run the ledger audit")
    step = OPERATIONS[start : OPERATIONS.index("### 5.")]
    assert '--update-env-vars="LEDGER_SPANNER_DATABASE=$NEW"' in step
    assert 'gcloud run jobs execute "$JOB"' in step
    assert "exit status 0" in step


def test_the_runbook_names_every_kind_of_finding():
    step = OPERATIONS[OPERATIONS.index("### 4. Run the ledger audit") :]
    assert [kind for kind in KINDS if f"| `{kind}` |" not in step] == []
