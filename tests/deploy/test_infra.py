"""infra/*.tf, read as text: the security properties the ledger's deployment relies on.

No Terraform binary or provider is needed: resource blocks are cut out of the HCL by
brace matching (after comments are removed) and their attributes matched with regexes.
"""

from __future__ import annotations

import re

import pytest

from tests.support import ROOT

INFRA = ROOT / "infra"
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def strip_comments(text: str) -> str:
    """Drop `#` and `//` comments (outside strings) so that prose cannot match."""
    out: list[str] = []
    for line in text.splitlines():
        in_string = False
        cut = len(line)
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == "\\" and in_string:
                i += 2
                continue
            if ch == '"':
                in_string = not in_string
            elif not in_string and (ch == "#" or line.startswith("//", i)):
                cut = i
                break
            i += 1
        out.append(line[:cut])
    return "\n".join(out)


def source() -> str:
    return "\n".join(strip_comments(p.read_text()) for p in sorted(INFRA.glob("*.tf")))


def blocks(kind: str, type_name: str | None = None) -> dict[str, str]:
    """`resource "TYPE" "NAME" { ... }` bodies keyed by "TYPE.NAME" (or "NAME" for variables)."""
    text = source()
    if kind == "variable":
        header = re.compile(r'^variable "([^"]+)" \{', re.MULTILINE)
    else:
        type_pattern = type_name or '[^"]+'
        header = re.compile(rf'^{kind} "({type_pattern})" "([^"]+)" \{{', re.MULTILINE)
    found: dict[str, str] = {}
    for match in header.finditer(text):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        key = ".".join(match.groups())
        found[key] = text[match.end() : i - 1]
    return found


def attribute(body: str, name: str) -> str | None:
    match = re.search(rf"^\s*{name}\s*=\s*(.+)$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


IAM_MEMBER_TYPES = r"google_[a-z0-9_]+_iam_member"


@pytest.fixture(scope="module")
def iam_members() -> dict[str, str]:
    return blocks("resource", IAM_MEMBER_TYPES)


def test_no_binding_grants_anything_to_the_public(iam_members):
    for name, body in iam_members.items():
        member = attribute(body, "member") or ""
        assert not any(p in member for p in PUBLIC_MEMBERS), name


def test_invoker_variable_refuses_public_members():
    body = blocks("variable")["invoker_members"]
    assert "validation" in body
    assert all(p in body for p in PUBLIC_MEMBERS)


def test_example_tfvars_name_no_public_member():
    text = (INFRA / "terraform.tfvars.example").read_text()
    assert not any(p in text for p in PUBLIC_MEMBERS)


def test_no_service_account_keys_are_created():
    assert 'resource "google_service_account_key"' not in source()


def test_database_role_user_is_limited_to_the_two_ledger_roles(iam_members):
    [body] = [b for b in iam_members.values() if '"roles/spanner.databaseRoleUser"' in b]
    expression = attribute(body, "expression") or ""
    assert 'resource.type == \\"spanner.googleapis.com/DatabaseRole\\"' in expression
    ends = re.findall(r'resource\.name\.endsWith\(\\"([^\\]+)\\"\)', expression)
    assert sorted(ends) == ["/ledger_reader", "/ledger_writer"]


def test_runtime_account_holds_only_fine_grained_spanner_roles_on_the_database(iam_members):
    granted = [
        (name.split(".")[0], attribute(body, "role"))
        for name, body in iam_members.items()
        if attribute(body, "member") == "google_service_account.runtime.member"
    ]
    assert sorted(granted) == [
        ("google_spanner_database_iam_member", '"roles/spanner.databaseRoleUser"'),
        ("google_spanner_database_iam_member", '"roles/spanner.fineGrainedAccessUser"'),
    ]


def test_ddl_rights_are_granted_on_the_database_only(iam_members):
    for name, body in iam_members.items():
        if attribute(body, "role") == '"roles/spanner.databaseAdmin"':
            assert name.startswith("google_spanner_database_iam_member."), name
            assert attribute(body, "member") == "google_service_account.build.member"


def test_no_basic_or_project_wide_spanner_roles():
    for name, body in blocks("resource", "google_project_iam_member").items():
        role = attribute(body, "role") or ""
        assert not re.search(r'"roles/(owner|editor|viewer|spanner\.[a-zA-Z]+)"', role), name


def test_federated_identities_are_bound_to_attribute_sets_not_the_whole_pool(iam_members):
    for name, body in iam_members.items():
        if attribute(body, "role") == '"roles/iam.workloadIdentityUser"':
            member = attribute(body, "member") or ""
            assert member.startswith('"principalSet://'), name
            assert "/attribute." in member, name
            assert not member.endswith('/*"'), name


def test_every_federation_provider_has_an_attribute_condition():
    providers = blocks("resource", "google_iam_workload_identity_pool_provider")
    assert providers
    for name, body in providers.items():
        assert attribute(body, "attribute_condition"), name


def test_cloud_run_service_probes_readiness_and_liveness():
    [body] = blocks("resource", "google_cloud_run_v2_service").values()
    startup = re.search(r"startup_probe \{.*?path\s*=\s*\"([^\"]+)\"", body, re.DOTALL)
    liveness = re.search(r"liveness_probe \{.*?path\s*=\s*\"([^\"]+)\"", body, re.DOTALL)
    assert startup is not None
    assert liveness is not None
    assert (startup.group(1), liveness.group(1)) == ("/readyz", "/healthz")


def test_cloud_run_service_assumes_database_roles():
    [body] = blocks("resource", "google_cloud_run_v2_service").values()
    assert re.search(r'LEDGER_USE_DATABASE_ROLES\s*=\s*"true"', source())
    assert attribute(body, "service_account") == "google_service_account.runtime.email"


def test_spanner_database_is_protected_and_keeps_seven_days_of_versions():
    [body] = blocks("resource", "google_spanner_database").values()
    assert attribute(body, "deletion_protection") == "var.deletion_protection"
    assert attribute(body, "enable_drop_protection") == "var.deletion_protection"
    assert attribute(body, "ddl") is None, "the migration runner owns the schema"
    variables = blocks("variable")
    assert attribute(variables["deletion_protection"], "default") == "true"
    assert attribute(variables["spanner_version_retention_period"], "default") == '"7d"'


def test_every_variable_is_documented():
    for name, body in blocks("variable").items():
        description = attribute(body, "description") or ""
        assert len(description.strip('"')) > 10, name


def test_hold_expiry_job_posts_expire_with_an_id_token_for_the_service_url():
    [body] = blocks("resource", "google_cloud_scheduler_job").values()
    assert attribute(body, "http_method") == '"POST"'
    assert attribute(body, "uri") == '"${local.service_url}/v1/transfers:expire"'
    oidc = re.search(r"oidc_token \{(.*?)\}", body, re.DOTALL)
    assert oidc is not None, "Cloud Run needs an ID token (OIDC), not an OAuth access token"
    assert attribute(oidc.group(1), "audience") == "local.service_url"
    assert attribute(oidc.group(1), "service_account_email") == (
        "google_service_account.hold_expiry[0].email"
    )
    assert "oauth_token" not in body
    assert attribute(blocks("variable")["hold_expiry_schedule"], "default") == '"* * * * *"'


def test_hold_expiry_account_may_only_invoke_the_ledger_service(iam_members):
    granted = [
        (name.split(".")[0], attribute(body, "role"), attribute(body, "name"))
        for name, body in iam_members.items()
        if "google_service_account.hold_expiry" in (attribute(body, "member") or "")
    ]
    assert granted == [
        (
            "google_cloud_run_v2_service_iam_member",
            '"roles/run.invoker"',
            "google_cloud_run_v2_service.ledger.name",
        )
    ]


def test_hold_expiry_account_gets_ledger_write_and_no_more_in_the_app():
    mapping = re.search(r"principal_scopes = merge\((.*?)\n  \)", source(), re.DOTALL)
    assert mapping is not None
    assert (
        '{ for sa in google_service_account.hold_expiry : sa.email => ["ledger.write"] }'
        in mapping.group(1)
    )
