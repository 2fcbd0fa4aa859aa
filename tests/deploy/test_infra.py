"""infra/*.tf, read as text: the security and recovery properties the ledger's deployment
relies on.

No Terraform binary or provider is needed (tests/deploy/hcl.py cuts blocks out of the
HCL). What Google does with these resources at apply time is not checked here: see
docs/DEPLOY.md, "Not verified without a live project".
"""

from __future__ import annotations

import re

import pytest

from tests.deploy.hcl import (
    IAM_MEMBER_TYPES,
    INFRA,
    PUBLIC_MEMBERS,
    attribute,
    blocks,
    local_map,
    nested,
    source,
    string_list,
)

RUNTIME = "google_service_account.runtime.member"
BUILD = "google_service_account.build.member"
DEPLOY = "google_service_account.deploy.member"
CI = "google_service_account.ci.member"
AUDIT = "google_service_account.audit.member"
RELAY = "google_service_account.relay[0].member"
MIGRATOR_ROLE = "google_project_iam_custom_role.spanner_migrator.id"


@pytest.fixture(scope="module")
def iam_members() -> dict[str, str]:
    return blocks("resource", IAM_MEMBER_TYPES)


def grants_to(iam_members: dict[str, str], member: str) -> list[tuple[str, str | None]]:
    """(resource type, role) of every binding whose member is ``member``."""
    return sorted(
        (name.split(".")[0], attribute(body, "role"))
        for name, body in iam_members.items()
        if attribute(body, "member") == member
    )


# --- nothing public, no keys ---------------------------------------------------------


def test_no_binding_grants_anything_to_the_public(iam_members):
    for name, body in iam_members.items():
        member = attribute(body, "member") or ""
        assert not any(p in member for p in PUBLIC_MEMBERS), name


@pytest.mark.parametrize(
    "variable", ["invoker_members", "deploy_approvers", "events_subscriptions"]
)
def test_member_variables_refuse_public_members(variable):
    body = blocks("variable")[variable]
    assert "validation" in body
    assert all(p in body for p in PUBLIC_MEMBERS)


def test_example_tfvars_name_no_public_member():
    text = (INFRA / "terraform.tfvars.example").read_text()
    assert not any(p in text for p in PUBLIC_MEMBERS)


def test_no_service_account_keys_are_created():
    assert 'resource "google_service_account_key"' not in source()


# --- runtime: fine-grained access control, and its client's metrics ---------------------


def database_roles_of(iam_members: dict[str, str], member: str) -> list[str]:
    """The database roles ``member`` may assume (its databaseRoleUser condition)."""
    [body] = [
        b
        for b in iam_members.values()
        if '"roles/spanner.databaseRoleUser"' in b and attribute(b, "member") == member
    ]
    expression = attribute(body, "expression") or ""
    assert 'resource.type == \\"spanner.googleapis.com/DatabaseRole\\"' in expression
    return sorted(re.findall(r'resource\.name\.endsWith\(\\"([^\\]+)\\"\)', expression))


def test_database_role_user_is_limited_to_the_two_ledger_roles(iam_members):
    assert database_roles_of(iam_members, RUNTIME) == ["/ledger_reader", "/ledger_writer"]


def test_only_the_runtime_the_audit_and_the_relay_may_assume_database_roles(iam_members):
    holders = sorted(
        attribute(b, "member") or ""
        for b in iam_members.values()
        if attribute(b, "role") == '"roles/spanner.databaseRoleUser"'
    )
    assert holders == sorted([RUNTIME, AUDIT, RELAY])


def test_the_relay_may_assume_only_the_relay_role(iam_members):
    assert database_roles_of(iam_members, RELAY) == ["/ledger_relay"]


def test_the_relay_account_reads_the_stream_publishes_and_reads_its_secret_only(iam_members):
    assert grants_to(iam_members, RELAY) == [
        ("google_project_iam_member", '"roles/monitoring.metricWriter"'),
        ("google_pubsub_topic_iam_member", '"roles/pubsub.publisher"'),
        ("google_secret_manager_secret_iam_member", '"roles/secretmanager.secretAccessor"'),
        ("google_spanner_database_iam_member", '"roles/spanner.databaseRoleUser"'),
        ("google_spanner_database_iam_member", '"roles/spanner.fineGrainedAccessUser"'),
    ]


def test_runtime_account_holds_fine_grained_spanner_roles_metric_and_trace_writers(iam_members):
    assert grants_to(iam_members, RUNTIME) == [
        ("google_project_iam_member", '"roles/cloudtrace.agent"'),
        ("google_project_iam_member", '"roles/monitoring.metricWriter"'),
        # LEDGER_PAGE_TOKEN_SECRET (secrets.tf)
        ("google_secret_manager_secret_iam_member", '"roles/secretmanager.secretAccessor"'),
        ("google_spanner_database_iam_member", '"roles/spanner.databaseRoleUser"'),
        ("google_spanner_database_iam_member", '"roles/spanner.fineGrainedAccessUser"'),
    ]


def test_the_monitoring_api_is_enabled_for_the_spanner_client_metrics():
    [body] = blocks("resource", "google_project_service").values()
    assert '"monitoring.googleapis.com"' in source()
    assert "local.services" in body


# --- nobody holds the Spanner admin roles; DDL only for the approved deploy -------------


def test_no_binding_uses_a_predefined_spanner_admin_or_data_role(iam_members):
    for name, body in iam_members.items():
        role = attribute(body, "role") or ""
        assert not re.search(
            r'"roles/spanner\.(admin|databaseAdmin|databaseUser|databaseReader)"', role
        ), name


def test_the_migrator_role_changes_the_schema_and_its_bookkeeping_and_nothing_else():
    body = blocks("resource", "google_project_iam_custom_role")[
        "google_project_iam_custom_role.spanner_migrator"
    ]
    permissions = set(string_list(body, "permissions"))
    assert permissions == {
        "spanner.databases.get",
        "spanner.databases.getDdl",
        "spanner.databases.updateDdl",
        "spanner.databaseOperations.get",
        "spanner.sessions.create",
        "spanner.sessions.get",
        "spanner.sessions.delete",
        "spanner.databases.beginOrRollbackReadWriteTransaction",
        "spanner.databases.beginReadOnlyTransaction",
        "spanner.databases.select",
        "spanner.databases.read",
        "spanner.databases.write",
    }
    # What databaseAdmin holds and a migration must not: drop the database, see or change
    # who may use it, create databases or backups, restore, or use fine-grained roles.
    assert not permissions & {
        "spanner.databases.drop",
        "spanner.databases.setIamPolicy",
        "spanner.databases.getIamPolicy",
        "spanner.databases.create",
        "spanner.databases.createBackup",
        "spanner.backups.create",
        "spanner.backups.restoreDatabase",
        "spanner.databases.useRoleBasedAccess",
        "spanner.databases.beginPartitionedDmlTransaction",
    }


def test_only_the_deploy_account_holds_the_migrator_role_on_the_database_alone(iam_members):
    holders = [
        (name.split(".")[0], attribute(body, "member"))
        for name, body in iam_members.items()
        if attribute(body, "role") == MIGRATOR_ROLE
    ]
    assert holders == [("google_spanner_database_iam_member", DEPLOY)]


def test_no_basic_or_project_wide_spanner_roles():
    for name, body in blocks("resource", "google_project_iam_member").items():
        role = attribute(body, "role") or ""
        assert not re.search(r'"roles/(owner|editor|viewer|spanner\.[a-zA-Z]+)"', role), name


# --- the build on every push can only push images ------------------------------------------


def test_the_build_account_can_push_images_and_write_logs_and_nothing_else(iam_members):
    assert grants_to(iam_members, BUILD) == [
        ("google_artifact_registry_repository_iam_member", '"roles/artifactregistry.writer"'),
        ("google_project_iam_member", '"roles/logging.logWriter"'),
        ("google_storage_bucket_iam_member", '"roles/storage.objectViewer"'),
    ]


def test_the_deploy_account_holds_exactly_what_the_deploy_steps_call(iam_members):
    assert grants_to(iam_members, DEPLOY) == sorted(
        [
            ("google_artifact_registry_repository_iam_member", '"roles/artifactregistry.reader"'),
            ("google_cloud_run_v2_service_iam_member", '"roles/run.invoker"'),
            (
                "google_cloud_run_v2_service_iam_member",
                "google_project_iam_custom_role.run_service_iam_editor.id",
            ),
            ("google_project_iam_member", '"roles/logging.logWriter"'),
            ("google_project_iam_member", '"roles/run.developer"'),
            ("google_service_account_iam_member", '"roles/iam.serviceAccountOpenIdTokenCreator"'),
            ("google_service_account_iam_member", '"roles/iam.serviceAccountUser"'),
            # the relay (events.tf), which the deploy ships after the ledger
            ("google_service_account_iam_member", '"roles/iam.serviceAccountUser"'),
            ("google_spanner_database_iam_member", MIGRATOR_ROLE),
        ]
    )


def test_the_deploy_account_mints_id_tokens_for_itself_only(iam_members):
    [body] = [
        b
        for b in iam_members.values()
        if attribute(b, "role") == '"roles/iam.serviceAccountOpenIdTokenCreator"'
    ]
    assert attribute(body, "service_account_id") == "google_service_account.deploy.name"


# --- CI (GitHub Actions): its own account, no data, no other identity ----------------------


def test_the_ci_account_holds_no_role_at_all(iam_members):
    assert grants_to(iam_members, CI) == []


def test_github_actions_act_as_the_ci_account(iam_members):
    github = [
        body
        for body in iam_members.values()
        if "attribute.repository/" in (attribute(body, "member") or "")
    ]
    assert [attribute(b, "service_account_id") for b in github] == [
        "google_service_account.ci.name"
    ]
    assert [attribute(b, "role") for b in github] == ['"roles/iam.workloadIdentityUser"']


def test_only_the_deploy_and_the_lambda_may_act_as_the_runtime_account(iam_members):
    on_runtime = sorted(
        (attribute(body, "role"), attribute(body, "member"))
        for body in iam_members.values()
        if attribute(body, "service_account_id") == "google_service_account.runtime.name"
    )
    assert on_runtime == [
        ('"roles/iam.serviceAccountUser"', DEPLOY),
        (
            '"roles/iam.workloadIdentityUser"',
            '"principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.ledger.name}'
            '/attribute.aws_role/${local.aws_lambda_role}"',
        ),
    ]


def test_nothing_may_mint_tokens_for_the_runtime_account(iam_members):
    for name, body in iam_members.items():
        if attribute(body, "service_account_id") == "google_service_account.runtime.name":
            assert attribute(body, "role") != '"roles/iam.serviceAccountTokenCreator"', name


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


# --- the two triggers: build at once, deploy after approval ----------------------------------


@pytest.fixture(scope="module")
def triggers() -> dict[str, str]:
    return blocks("resource", "google_cloudbuild_trigger")


def test_every_push_builds_as_the_build_account_without_waiting(triggers):
    body = triggers["google_cloudbuild_trigger.build_main"]
    assert attribute(body, "filename") == '"cloudbuild.yaml"'
    assert attribute(body, "service_account") == "google_service_account.build.id"
    assert attribute(body, "substitutions") == "local.build_substitutions"
    assert nested(body, "approval_config") is None


def test_the_deploy_waits_for_approval_and_runs_as_the_deploy_account(triggers):
    body = triggers["google_cloudbuild_trigger.deploy_main"]
    assert attribute(body, "filename") == '"cloudbuild-deploy.yaml"'
    assert attribute(body, "service_account") == "google_service_account.deploy.id"
    assert attribute(body, "substitutions") == "local.deploy_substitutions"
    approval = nested(body, "approval_config")
    assert approval is not None
    assert attribute(approval, "approval_required") == "true"


def test_both_triggers_fire_on_the_same_pushes(triggers):
    pushes = {name: nested(nested(body, "github") or "", "push") for name, body in triggers.items()}
    assert len(pushes) == 2
    assert len(set(pushes.values())) == 1


def test_approvers_get_the_approver_role_and_nothing_else():
    [body] = [
        b
        for b in blocks("resource", "google_project_iam_member").values()
        if "var.deploy_approvers" in b
    ]
    assert attribute(body, "role") == '"roles/cloudbuild.builds.approver"'


# --- Cloud Run ---------------------------------------------------------------------------------


def test_cloud_run_service_probes_readiness_and_liveness():
    # Probes reach the container directly; /healthz is reserved only on the public URL.
    body = blocks("resource", "google_cloud_run_v2_service")["google_cloud_run_v2_service.ledger"]
    startup = re.search(r"startup_probe \{.*?path\s*=\s*\"([^\"]+)\"", body, re.DOTALL)
    liveness = re.search(r"liveness_probe \{.*?path\s*=\s*\"([^\"]+)\"", body, re.DOTALL)
    assert startup is not None
    assert liveness is not None
    assert (startup.group(1), liveness.group(1)) == ("/readyz", "/healthz")


def test_cloud_run_service_assumes_database_roles():
    body = blocks("resource", "google_cloud_run_v2_service")["google_cloud_run_v2_service.ledger"]
    assert re.search(r'LEDGER_USE_DATABASE_ROLES\s*=\s*"true"', source())
    assert attribute(body, "service_account") == "google_service_account.runtime.email"


def test_terraform_leaves_the_image_and_the_traffic_to_the_deploy():
    # Otherwise an apply would reset traffic to "latest": possibly a revision that failed
    # its smoke test and was left without traffic.
    body = blocks("resource", "google_cloud_run_v2_service")["google_cloud_run_v2_service.ledger"]
    lifecycle = nested(body, "lifecycle") or ""
    ignored = re.search(r"ignore_changes\s*=\s*\[(.*?)\n\s*\]", lifecycle, re.DOTALL)
    assert ignored is not None
    entries = {e.strip() for e in ignored.group(1).split(",") if e.strip()}
    assert {"template[0].containers[0].image", "traffic"} <= entries


def test_the_service_url_is_an_audience_on_every_url_of_the_service():
    body = blocks("resource", "google_cloud_run_v2_service")["google_cloud_run_v2_service.ledger"]
    assert attribute(body, "custom_audiences") == "[local.service_url]"
    assert re.search(r"LEDGER_AUTH_AUDIENCE\s*=\s*local\.service_url", source())


def test_the_deploy_account_may_invoke_the_service_and_reads_only(iam_members):
    [invoker] = [
        b
        for b in iam_members.values()
        if attribute(b, "member") == DEPLOY and attribute(b, "role") == '"roles/run.invoker"'
    ]
    assert attribute(invoker, "name") == "google_cloud_run_v2_service.ledger.name"
    mapping = re.search(r"principal_scopes = merge\((.*?)\n  \)", source(), re.DOTALL)
    assert mapping is not None
    assert '{ (google_service_account.deploy.email) = ["ledger.read"] }' in mapping.group(1)
    assert "google_service_account.build.email" not in mapping.group(1)


# --- Spanner: protection, point-in-time recovery, backups, audit logs ---------------------


def test_spanner_database_is_protected_and_keeps_seven_days_of_versions():
    [body] = blocks("resource", "google_spanner_database").values()
    assert attribute(body, "deletion_protection") == "var.deletion_protection"
    assert attribute(body, "enable_drop_protection") == "var.deletion_protection"
    assert attribute(body, "ddl") is None, "the migration runner owns the schema"
    variables = blocks("variable")
    assert attribute(variables["deletion_protection"], "default") == "true"
    assert attribute(variables["spanner_version_retention_period"], "default") == '"7d"'


def test_a_daily_full_backup_is_kept_for_the_defended_retention():
    [body] = blocks("resource", "google_spanner_backup_schedule").values()
    assert attribute(body, "database") == "google_spanner_database.ledger.name"
    assert nested(body, "full_backup_spec") is not None
    assert nested(body, "incremental_backup_spec") is None
    assert attribute(body, "retention_duration") == (
        '"${var.spanner_backup_retention_days * 86400}s"'
    )
    cron = attribute(blocks("variable")["spanner_backup_schedule_cron"], "default")
    assert cron is not None
    minute, hour, day, month, weekday = cron.strip('"').split()
    assert (day, month, weekday) == ("*", "*", "*"), "daily"
    assert minute.isdigit() and hour.isdigit()
    retention = blocks("variable")["spanner_backup_retention_days"]
    assert attribute(retention, "default") == "35"
    assert "<= 366" in retention and ">= 8" in retention


def test_the_instance_adds_no_second_automatic_schedule():
    [body] = blocks("resource", "google_spanner_instance").values()
    assert attribute(body, "default_backup_schedule_type") == '"NONE"'
    version = re.search(r'version\s*=\s*">= 6\.(\d+)\.0, < 7\.0\.0"', source())
    assert version is not None and int(version.group(1)) >= 11, "the field needs provider 6.11"


def test_spanner_data_access_is_audit_logged_for_everyone():
    [body] = blocks("resource", "google_project_iam_audit_config").values()
    assert attribute(body, "service") == '"spanner.googleapis.com"'
    log_types = re.findall(r'log_type\s*=\s*"([A-Z_]+)"', body)
    assert sorted(log_types) == ["ADMIN_READ", "DATA_READ", "DATA_WRITE"]
    assert "exempted_members" not in body


# --- monitoring: alerts, SLOs, a dashboard, from Google's own metrics ---------------------


@pytest.fixture(scope="module")
def alerts() -> dict[str, str]:
    return blocks("resource", "google_monitoring_alert_policy")


def test_alerts_cover_errors_latency_spanner_cpu_and_the_error_budget(alerts):
    filters = " ".join(alerts.values())
    assert sorted(alerts) == [
        "google_monitoring_alert_policy.availability_burn",
        "google_monitoring_alert_policy.latency",
        "google_monitoring_alert_policy.relay_refused",
        "google_monitoring_alert_policy.server_errors",
        "google_monitoring_alert_policy.spanner_cpu",
    ]
    assert "denominator_filter = local.requests" in filters  # a ratio, not a count
    assert "REDUCE_PERCENTILE_99" in alerts["google_monitoring_alert_policy.latency"]
    assert "select_slo_burn_rate" in alerts["google_monitoring_alert_policy.availability_burn"]
    assert 'metric.labels.priority = \\"high\\"' in source()


def test_every_alert_notifies_the_configured_channels_and_says_what_to_do(alerts):
    for name, body in alerts.items():
        assert attribute(body, "notification_channels") == "var.alert_notification_channels"
        assert nested(body, "documentation") is not None, name


def test_the_slos_are_availability_and_latency_of_the_cloud_run_service():
    slos = blocks("resource", "google_monitoring_slo")
    assert sorted(attribute(b, "slo_id") for b in slos.values()) == ['"availability"', '"latency"']
    for body in slos.values():
        assert attribute(body, "rolling_period_days") == "28"
    assert re.search(r"run_filter = join\(.*cloud_run_revision", source(), re.DOTALL)


def test_a_dashboard_shows_the_alerted_signals():
    [body] = blocks("resource", "google_monitoring_dashboard").values()
    for signal in ("local.requests", "local.latencies", "utilization_by_priority"):
        assert signal in body


def test_the_service_exports_traces_when_enabled():
    assert re.search(r"LEDGER_OTEL_ENABLED\s*=\s*tostring\(var.tracing_enabled\)", source())
    assert '"cloudtrace.googleapis.com"' in source()


# --- the ledger audit job: the reader role, nothing else ---------------------------------


def test_the_audit_account_may_only_read_through_ledger_reader(iam_members):
    assert grants_to(iam_members, AUDIT) == [
        ("google_spanner_database_iam_member", '"roles/spanner.databaseRoleUser"'),
        ("google_spanner_database_iam_member", '"roles/spanner.fineGrainedAccessUser"'),
    ]
    assert database_roles_of(iam_members, AUDIT) == ["/ledger_reader"]


def test_the_audit_job_runs_the_audit_as_the_audit_account_with_database_roles():
    [body] = blocks("resource", "google_cloud_run_v2_job").values()
    assert attribute(body, "service_account") == "google_service_account.audit.email"
    assert attribute(body, "command") == '["python", "-m", "api.audit"]'
    assert re.search(r'LEDGER_USE_DATABASE_ROLES\s*=\s*"true"', body)
    assert re.search(r'LEDGER_READER_ROLE\s*=\s*"ledger_reader"', body)
    assert attribute(body, "max_retries") == "0"


# --- variables and the optional hold-expiry job ------------------------------------------------


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


# --- nothing is created before its API is enabled -------------------------------------------

# Resource types and the API that serves them (apis.tf enables them; the project-level
# IAM resources go through Resource Manager, which DEPLOY.md enables before any apply).
API_OF = {
    "google_artifact_registry_": "artifactregistry.googleapis.com",
    "google_cloud_run_v2_": "run.googleapis.com",
    "google_cloud_scheduler_job": "cloudscheduler.googleapis.com",
    "google_cloudbuild_trigger": "cloudbuild.googleapis.com",
    "google_iam_workload_identity_pool": "iam.googleapis.com",
    "google_logging_metric": "logging.googleapis.com",
    "google_monitoring_": "monitoring.googleapis.com",
    "google_project_iam_custom_role": "iam.googleapis.com",
    "google_pubsub_": "pubsub.googleapis.com",
    "google_secret_manager_": "secretmanager.googleapis.com",
    "google_service_account": "iam.googleapis.com",
    "google_spanner_": "spanner.googleapis.com",
    "google_storage_bucket": "storage.googleapis.com",
}


def apis_awaited(resources: dict[str, str], key: str, seen: set[str] | None = None) -> set[str]:
    """The APIs ``key`` waits for: named in its depends_on, or awaited by a resource it
    refers to (Terraform creates that one first)."""
    seen = seen if seen is not None else set()
    if key in seen:
        return set()
    seen.add(key)
    body = resources[key]
    awaited = set(re.findall(r'google_project_service\.enabled\["([a-z.]+)"\]', body))
    for kind, name in re.findall(r"(?<![.\w])(google_[a-z0-9_]+)\.([a-z0-9_]+)", body):
        if f"{kind}.{name}" in resources:
            awaited |= apis_awaited(resources, f"{kind}.{name}", seen)
    return awaited


def test_every_resource_waits_for_its_api_to_be_enabled():
    resources = blocks("resource")
    early = [
        (key, api)
        for key in sorted(resources)
        for prefix, api in API_OF.items()
        if key.startswith(prefix) and api not in apis_awaited(resources, key)
    ]
    assert early == []


def test_every_api_awaited_is_enabled():
    [body] = blocks("resource", "google_project_service").values()
    enabled = set(re.findall(r'"([a-z]+\.googleapis\.com)"', source()))
    assert "local.services" in body
    assert set(API_OF.values()) <= enabled


# --- the event relay: created on a migrated database, regional, its refusal alerted ---------


@pytest.fixture(scope="module")
def relay() -> str:
    return blocks("resource", "google_cloud_run_v2_service")["google_cloud_run_v2_service.relay"]


def test_the_relay_exists_only_once_it_has_an_image_that_runs_it(relay):
    # Not on the placeholder: it has no Python, and the first deploy has yet to create the
    # relay's database role.
    assert attribute(relay, "count") == "local.relay_deployed ? 1 : 0"
    assert re.search(
        r'relay_deployed = var\.events_enabled && var\.events_relay_image != ""', source()
    )
    assert attribute(relay, "image") == "var.events_relay_image"
    assert attribute(blocks("variable")["events_relay_image"], "default") == '""'


def test_the_deploy_ships_the_relay_only_once_it_exists():
    substitutions = local_map("deploy_substitutions")
    assert substitutions["_RELAY_SERVICE"] == (
        'local.relay_deployed ? google_cloud_run_v2_service.relay[0].name : ""'
    )


def relay_env() -> str:
    env = re.search(r"relay_env = merge\((.*?)\n  \)", source(), re.DOTALL)
    assert env is not None
    return env.group(1)


def test_the_relay_reads_its_environment_from_one_place(relay):
    assert attribute(relay, "for_each") == "local.relay_env"


def test_the_relay_publishes_through_the_regional_endpoint_of_the_deployment_region():
    assert re.search(r"^\s*LEDGER_EVENTS_PUBSUB_REGION\s*= var\.region$", relay_env(), re.M)


def test_a_gap_is_accepted_only_when_an_operator_sets_where_the_relay_starts():
    assert re.search(
        r"LEDGER_EVENTS_START_AT\s*= var\.events_start_at\s*"
        r"LEDGER_EVENTS_ACCEPT_GAP = tostring\(var\.events_accept_gap\)\s*"
        r'\} : name => value if var\.events_start_at != ""',
        relay_env(),
    )
    assert attribute(blocks("variable")["events_accept_gap"], "default") == "false"


def test_a_refusing_relay_is_counted_from_its_log_and_alerts():
    [metric] = blocks("resource", "google_logging_metric").values()
    assert attribute(metric, "filter") == "local.relay_refused_filter"
    refused = re.search(r"relay_refused_filter = join\(\" AND \", \[(.*?)\]\)", source(), re.S)
    assert refused is not None
    for clause in (
        'resource.labels.service_name = \\"${var.relay_service_name}\\"',
        "severity = ERROR",
        'jsonPayload.message =~ \\"^events relay refused:\\"',
    ):
        assert clause in refused.group(1)
    alert = blocks("resource", "google_monitoring_alert_policy")[
        "google_monitoring_alert_policy.relay_refused"
    ]
    assert "logging.googleapis.com/user/${google_logging_metric.relay_refused[0].name}" in alert
    assert "docs/OPERATIONS.md" in alert


# --- secrets: every secret a service reads has a version from the first apply on --------------


def test_every_secret_a_cloud_run_service_reads_has_a_version_it_waits_for():
    versions = blocks("resource", "google_secret_manager_secret_version")
    for name, body in blocks("resource", "google_cloud_run_v2_service").items():
        for secret in re.findall(r"secret\s*=\s*google_secret_manager_secret\.(\w+)", body):
            [version] = [
                key
                for key, v in versions.items()
                if f"google_secret_manager_secret.{secret}" in (attribute(v, "secret") or "")
            ]
            depends = re.search(r"depends_on = \[(.*?)\n  \]", body, re.DOTALL)
            assert depends is not None and version in depends.group(1), (name, secret)


def test_the_page_token_key_comes_from_secret_manager_and_never_reaches_the_state():
    ledger = blocks("resource", "google_cloud_run_v2_service")["google_cloud_run_v2_service.ledger"]
    assert re.search(
        r'name = "LEDGER_PAGE_TOKEN_SECRET"\s*value_source \{\s*secret_key_ref \{\s*'
        r"secret\s*= google_secret_manager_secret\.page_token\.secret_id",
        ledger,
    )
    version = blocks("resource", "google_secret_manager_secret_version")[
        "google_secret_manager_secret_version.page_token"
    ]
    assert attribute(version, "secret_data_wo") == "ephemeral.random_password.page_token.result"
    assert attribute(version, "secret_data") is None
    assert 'required_version = ">= 1.11.0"' in source()  # write-only arguments


def test_the_webhooks_secret_starts_with_no_endpoint_and_nothing_secret():
    version = blocks("resource", "google_secret_manager_secret_version")[
        "google_secret_manager_secret_version.webhooks_none"
    ]
    assert attribute(version, "secret_data") == '"[]"'


# --- subscriptions: ordered, each event once, dead letters kept ------------------------------


def test_subscriptions_are_ordered_primary_only_and_dead_letter_what_fails():
    body = blocks("resource", "google_pubsub_subscription")["google_pubsub_subscription.events"]
    assert attribute(body, "enable_message_ordering") == "true"
    assert attribute(body, "filter") == '"attributes.primary = \\"true\\""'
    assert attribute(nested(body, "expiration_policy") or "", "ttl") == '""'
    dead_letter = nested(body, "dead_letter_policy") or ""
    assert attribute(dead_letter, "dead_letter_topic") == (
        "google_pubsub_topic.events_dead_letter[0].id"
    )
    kept = blocks("resource", "google_pubsub_subscription")
    assert attribute(kept["google_pubsub_subscription.events_dead_letter"], "topic") == (
        "google_pubsub_topic.events_dead_letter[0].id"
    )


def test_consumers_may_read_their_subscription_and_nothing_else(iam_members):
    consumers = iam_members["google_pubsub_subscription_iam_member.consumers"]
    assert attribute(consumers, "role") == '"roles/pubsub.subscriber"'
    assert attribute(consumers, "subscription") == (
        "google_pubsub_subscription.events[each.value.id].name"
    )
    assert "validation" in blocks("variable")["events_subscriptions"]


# --- the audit job, ingress ---------------------------------------------------------------


def test_the_audit_job_exports_no_client_metrics():
    [body] = blocks("resource", "google_cloud_run_v2_job").values()
    assert re.search(r'SPANNER_DISABLE_BUILTIN_METRICS\s*=\s*"true"', body)


def test_internal_ingress_is_refused_since_the_smoke_test_calls_from_outside_the_vpc():
    body = blocks("variable")["ingress"]
    assert attribute(body, "condition") == 'var.ingress == "INGRESS_TRAFFIC_ALL"'
    assert "smoke test" in (attribute(body, "error_message") or "")
