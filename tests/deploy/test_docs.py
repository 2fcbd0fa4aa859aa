"""What the deployment docs tell people to run: nothing that cannot work on Cloud Run, and
the runbook steps the issue asks for.

Text checks only; the commands themselves are not run here (docs/DEPLOY.md, "Not
verified without a live project").
"""

from __future__ import annotations

import re

import pytest

from api.audit.report import KINDS
from api.spanner.migrations.splitter import split_statements
from tests.deploy.hcl import attribute, blocks, local_map
from tests.spanner.grants import Grants
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


def _section(doc: str, start: str, end: str) -> str:
    return doc[doc.index(start) : doc.index(end, doc.index(start))]


def test_the_restore_puts_back_every_row_deletion_policy_the_migrations_declare():
    statements = [
        statement
        for path in sorted((ROOT / "spanner_ddl").glob("*.sql"))
        for statement in split_statements(path.read_text())
    ]
    policies = [
        (table.group(1), policy.group(1))
        for statement in statements
        if (table := re.match(r"\s*(?:CREATE|ALTER) TABLE (\w+)", statement))
        and (policy := re.search(r"ROW DELETION POLICY \((OLDER_THAN\([^)]*\))\)", statement))
    ]
    assert policies, "no row deletion policy found: did the Events migration move?"
    restore = _section(OPERATIONS, "## Restore to a new database", "### 3. Check it")
    for table, policy in policies:
        assert f"ALTER TABLE {table} ADD ROW DELETION POLICY ({policy})" in restore


def test_the_restore_moves_every_writer_before_saying_nothing_writes_to_the_old_database():
    switch = _section(OPERATIONS, "### 5. Switch", "### 6.")
    done = switch.index("From this moment nothing writes to the old database")
    for writer in (
        'gcloud beta builds reject "$BUILD_ID"',  # the deploys' migrate step
        "gcloud run services update ledger-events",  # the relay
        'gcloud run jobs update "$JOB"',  # the audit job
        "gcloud run services update-traffic ledger",  # the service
    ):
        assert writer in switch[:done], writer
    assert '--member="serviceAccount:$RELAY"' in switch


def test_the_relay_restarts_on_the_restored_database_from_the_restore_point():
    switch = _section(OPERATIONS, "### 5. Switch", "### 6.")
    cleared = switch.index("--sql='DELETE FROM EventPartitions WHERE TRUE'")
    restarted = switch.index(
        "LEDGER_SPANNER_DATABASE=$NEW,LEDGER_EVENTS_START_AT=$START_AT,LEDGER_EVENTS_ACCEPT_GAP=true"
    )
    assert 'gcloud spanner databases execute-sql "$NEW"' in switch[:cleared]
    assert cleared < restarted < switch.index("gcloud run services update-traffic ledger")
    assert '"starts_at"' in switch[restarted:]


def test_the_refused_relay_has_a_runbook_in_the_terms_of_the_settings_and_the_alert():
    section = _section(OPERATIONS, "## The relay refused to start", "## Practise it")
    for term in ("events relay refused:", "events_start_at", "events_accept_gap", "starts_at"):
        assert term in section
    alert = (ROOT / "infra" / "monitoring.tf").read_text()
    assert 'display_name = "ledger: the event relay refused to start"' in alert
    assert '"the event relay refused to start"' in section


@pytest.mark.parametrize("name", sorted(DOCS))
def test_no_doc_says_as_of_reads_need_the_version_retention_window(name):
    for line in DOCS[name].splitlines():
        if "as_of" in line and re.search(r"version retention|7-day|point-in-time", line):
            assert re.search(r"not|any age|does not need", line), line
    variable = (ROOT / "infra" / "variables.tf").read_text()
    assert "as_of balances read within it" not in variable


def _anchors(doc: str) -> set[str]:
    """GitHub's ids for a document's headings."""
    ids = set()
    for heading in re.findall(r"^#+ (.+)$", doc, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower().replace("`", "")).replace(" ", "-")
        ids.add(slug)
    return ids


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_link_to_a_section_of_a_doc_finds_it(name):
    base = (ROOT / name).parent
    for target, anchor in re.findall(r"\]\(([\w./-]*\.md)#([\w-]+)\)", DOCS[name]):
        linked = (base / target).resolve()
        assert anchor in _anchors(linked.read_text()), f"{name}: {target}#{anchor}"


def security_role_table() -> dict[str, dict[str, set[str]]]:
    """SECURITY.md's table of database objects: role -> object -> privileges."""
    text = DOCS["docs/SECURITY.md"]
    header = "| object | `ledger_reader` | `ledger_writer` | `ledger_relay` |"
    rows = text[text.index(header) :].split("\n\n")[0].splitlines()[2:]
    roles = re.findall(r"`(\w+)`", header)
    table: dict[str, dict[str, set[str]]] = {role: {} for role in roles}
    kinds = {"change stream": "CHANGE STREAM ", "read function": "TABLE FUNCTION "}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        kind = next((v for k, v in kinds.items() if cells[0].startswith(k)), "")
        for name in re.findall(r"`(\w+)`", cells[0]):
            for role, cell in zip(roles, cells[1:], strict=True):
                granted = set(re.findall(r"\b[A-Z]{4,}\b", cell.split("(")[0]))
                if granted:
                    table[role][kind + name] = granted
    return table


def test_the_security_role_table_says_what_the_migrations_grant():
    grants = Grants.parse(ROOT / "spanner_ddl")
    table = security_role_table()
    assert set(table) == grants.roles
    for role, objects in table.items():
        assert objects == grants.of(role), role
    # Every table and stream is in the table, even one no role may touch.
    text = DOCS["docs/SECURITY.md"]
    for name in grants.tables:
        assert f"`{name.split()[-1]}`" in text, name


DEPLOY = DOCS["docs/DEPLOY.md"]


@pytest.mark.parametrize(
    ("output", "local"),
    [
        ("cloudbuild_substitutions", "build_substitutions"),
        ("cloudbuild_deploy_substitutions", "deploy_substitutions"),
    ],
)
def test_deploy_lists_exactly_the_substitutions_terraform_passes(output, local):
    listed = re.search(rf"`{output}` is\s*`([^`]+)`", DEPLOY.replace("\n  ", ""))
    assert listed is not None, output
    assert set(re.findall(r"(_[A-Z_]+)=", listed.group(1))) == set(local_map(local))


def test_deploy_names_everything_the_first_apply_creates():
    created = DEPLOY[DEPLOY.index("## 2. ") : DEPLOY.index("## 3. ")]
    variables = blocks("variable")
    for name in blocks("resource", "google_service_account"):
        account_id = attribute(blocks("resource", "google_service_account")[name], "account_id")
        default = attribute(variables[(account_id or "").removeprefix("var.")], "default")
        assert default and f"`{default.strip(chr(34))}`" in created, name
    for variable in ("events_topic", "relay_service_name"):
        assert f"`{(attribute(variables[variable], 'default') or '').strip(chr(34))}`" in created
    for thing in ("`ledger-page-token`", "`ledger-events-webhooks`", "`ledger-audit`"):
        assert thing in created


def test_deploy_says_auth_none_is_refused_on_lambda_as_the_code_does():
    config = (ROOT / "api" / "config.py").read_text()
    assert "AWS_LAMBDA_FUNCTION_NAME" in config
    assert "which Lambda does not set" not in DEPLOY
    assert "`AWS_LAMBDA_FUNCTION_NAME`" in DOCS["docs/SECURITY.md"]
