# Four identities, no keys (no google_service_account_key anywhere: keys are what leaks).
#
#   ledger-runtime  the service on Cloud Run (and, federated, the AWS Lambda path): may
#                   only assume the Spanner database roles ledger_reader and ledger_writer
#                   on the ledger database, and write the Spanner client's own metrics
#                   and its traces.
#                   No DDL, no admin.
#   ledger-build    Cloud Build on every push to main (cloudbuild.yaml): runs the tests
#                   and pushes the image. No Spanner, no Cloud Run, no other account.
#   ledger-deploy   Cloud Build after a person approved (cloudbuild-deploy.yaml): applies
#                   DDL (a custom role: no drop, no IAM), deploys a revision without
#                   traffic as ledger-runtime, smoke-tests it, then moves traffic to it.
#   ledger-ci       GitHub Actions (wif.tf): holds nothing. It cannot read or write the
#                   ledger and cannot act as any other account.

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = var.runtime_service_account_id
  display_name = "ledger runtime"
  description  = "Identity of the spanner-ledger service. Spanner fine-grained roles only; no keys."

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = var.build_service_account_id
  display_name = "ledger build"
  description  = "Cloud Build for spanner-ledger on every push: test, build, push the image. No database, no deploy; no keys."

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

resource "google_service_account" "deploy" {
  project      = var.project_id
  account_id   = var.deploy_service_account_id
  display_name = "ledger deploy"
  description  = "Cloud Build for spanner-ledger after approval: migrate (DDL, no drop, no IAM), deploy without traffic, smoke test, move traffic. No keys."

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

resource "google_service_account" "ci" {
  project      = var.project_id
  account_id   = var.ci_service_account_id
  display_name = "ledger CI (GitHub Actions)"
  description  = "GitHub Actions of the ledger repository, federated (wif.tf). No data access, cannot act as another account; no keys."

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

# ----------------------------------------------------------------------------------
# Runtime: Spanner fine-grained access control, nothing broader
# ----------------------------------------------------------------------------------

# Lets the account use the database at all, but only through a database role: with
# fine-grained access control and no databaseReader/databaseUser role, every read and
# write goes through the privileges GRANTed to the role it assumes.
resource "google_spanner_database_iam_member" "runtime_fine_grained_access" {
  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  role     = "roles/spanner.fineGrainedAccessUser"
  member   = google_service_account.runtime.member
}

# Which database roles it may assume: exactly ledger_reader and ledger_writer (created
# and granted their privileges by the migrations). Never a role that could delete
# ledger history, because no such role is listed here.
resource "google_spanner_database_iam_member" "runtime_database_roles" {
  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  role     = "roles/spanner.databaseRoleUser"
  member   = google_service_account.runtime.member

  condition {
    title       = "ledger_reader_and_ledger_writer_only"
    description = "Only the ledger's two fine-grained database roles."
    expression  = "resource.type == \"spanner.googleapis.com/DatabaseRole\" && (resource.name.endsWith(\"/ledger_reader\") || resource.name.endsWith(\"/ledger_writer\"))"
  }
}

# The Spanner client's built-in metrics (on by default in the pinned google-cloud-spanner:
# GFE and attempt latencies, retries, per operation) are exported to Cloud Monitoring as
# the runtime account. The predefined Spanner data roles carry
# monitoring.timeSeries.create; the fine-grained roles above do not, so without this the
# exporter is refused. They are kept on deliberately: they are the client-side half of
# every Spanner latency question. Write-only (no reads of any metric), and the
# Monitoring API is enabled in apis.tf.
resource "google_project_iam_member" "runtime_metric_writer" {
  project = var.project_id
  role    = "roles/monitoring.metricWriter"
  member  = google_service_account.runtime.member
}

# The service's OpenTelemetry spans (LEDGER_OTEL_ENABLED, api/tracing.py) go to Cloud
# Trace as the runtime account: write spans, read no trace.
resource "google_project_iam_member" "runtime_trace_agent" {
  project = var.project_id
  role    = "roles/cloudtrace.agent"
  member  = google_service_account.runtime.member
}

# ----------------------------------------------------------------------------------
# Build (every push): test and push the image, nothing else
# ----------------------------------------------------------------------------------

# Build logs (options.logging: CLOUD_LOGGING_ONLY in both build configs).
resource "google_project_iam_member" "build_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}

# (Push to the ledger repository: artifact_registry.tf. Read the manual-build staging
# bucket: cloud_build.tf.)

# ----------------------------------------------------------------------------------
# Deploy (after approval): migrate, deploy without traffic, smoke test, move traffic
# ----------------------------------------------------------------------------------

# What `python -m api.migrate up|status|force` calls, and nothing more
# (api/spanner/migrations/): GetDatabase/GetDatabaseDdl (exists, dialect), one
# UpdateDatabaseDdl per file (tables, indexes, and the CREATE ROLE / GRANT statements of
# fine-grained access control, which are ordinary DDL: Spanner documents them as
# `gcloud spanner databases ddl update`, i.e. spanner.databases.updateDdl), polling
# that operation, sessions, and reading and writing its bookkeeping tables
# (SchemaMigrations*) in read-write transactions.
#
# Unlike roles/spanner.databaseAdmin (what the build held before) it cannot drop the
# database, read or change its IAM policy, create databases or backups, or restore; unlike
# roles/spanner.databaseUser it has no partitioned DML and no quorum changes.
# spanner.databases.read/select/write are database-wide (IAM has no per-table grant), so
# it can still read and write ledger rows, and DDL itself can drop a table: the approval
# gate on the deploy trigger and the review of spanner_ddl/ (tests/deploy/
# test_migrations_expand_only.py) are what stand in front of that.
resource "google_project_iam_custom_role" "spanner_migrator" {
  project     = var.project_id
  role_id     = "${replace(var.service_name, "-", "_")}SpannerMigrator"
  title       = "Ledger: apply schema migrations"
  description = "DDL (tables, indexes, database roles, grants) and the migration runner's bookkeeping on the ledger database. No drop, no IAM, no backups."
  permissions = [
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
  ]

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

# Bound on this one database only.
resource "google_spanner_database_iam_member" "deploy_migrator" {
  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  role     = google_project_iam_custom_role.spanner_migrator.id
  member   = google_service_account.deploy.member
}

# Deploy revisions and move traffic. Project-level because the deploy also reads the
# revisions and operations it creates; it cannot change IAM (see cloud_run.tf for that
# one exception).
resource "google_project_iam_member" "deploy_run_developer" {
  project = var.project_id
  role    = "roles/run.developer"
  member  = google_service_account.deploy.member
}

resource "google_project_iam_member" "deploy_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.deploy.member
}

# actAs the runtime account (gcloud run deploy --service-account) - that account only.
# actAs lets the deploy attach the account to a revision; it cannot mint the runtime
# account's tokens (no serviceAccountTokenCreator, no workloadIdentityUser).
resource "google_service_account_iam_member" "deploy_acts_as_runtime" {
  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deploy.member
}

# The smoke test's ID token: Cloud Build mints it for the build's own account, which
# needs iam.serviceAccounts.getOpenIdToken on itself (and on nothing else).
resource "google_service_account_iam_member" "deploy_id_token_for_itself" {
  service_account_id = google_service_account.deploy.name
  role               = "roles/iam.serviceAccountOpenIdTokenCreator"
  member             = google_service_account.deploy.member
}

# ----------------------------------------------------------------------------------
# CI (GitHub Actions): deliberately nothing
# ----------------------------------------------------------------------------------
#
# google_service_account.ci holds no role on anything. A workflow that needs a Google
# API gets exactly that, here, bound to this account - never a Spanner role, never
# roles/iam.serviceAccountUser or serviceAccountTokenCreator on another account
# (tests/deploy/test_infra.py fails if it does).
