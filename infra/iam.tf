# Two identities, no keys (no google_service_account_key anywhere: keys are what leaks).
#
#   ledger-runtime  the service on Cloud Run (and, federated, on GitHub Actions and AWS
#                   Lambda): may only assume the Spanner database roles ledger_reader and
#                   ledger_writer on the ledger database. No DDL, no admin, no project roles.
#   ledger-build    Cloud Build: pushes images, applies DDL (the only DDL holder), deploys
#                   the service as ledger-runtime, and calls it once for the smoke test.

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
  display_name = "ledger build and deploy"
  description  = "Cloud Build for spanner-ledger: test, push, migrate (DDL), deploy, smoke test. No keys."

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

# ----------------------------------------------------------------------------------
# Build and deploy
# ----------------------------------------------------------------------------------

# DDL on this one database (the migration runner: tables, indexes, CREATE ROLE, GRANT).
resource "google_spanner_database_iam_member" "build_ddl" {
  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  role     = "roles/spanner.databaseAdmin"
  member   = google_service_account.build.member
}

# Deploy revisions. Project-level because the deploy also reads the revisions and
# operations it creates; it cannot change IAM (see cloud_run.tf for that one exception).
resource "google_project_iam_member" "build_run_developer" {
  project = var.project_id
  role    = "roles/run.developer"
  member  = google_service_account.build.member
}

# Build logs (options.logging: CLOUD_LOGGING_ONLY in cloudbuild.yaml).
resource "google_project_iam_member" "build_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}

# actAs the runtime account (gcloud run deploy --service-account) - that account only.
resource "google_service_account_iam_member" "build_acts_as_runtime" {
  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.build.member
}

# The smoke test's ID token: Cloud Build mints it for the build's own account, which
# needs iam.serviceAccounts.getOpenIdToken on itself (and on nothing else).
resource "google_service_account_iam_member" "build_id_token_for_itself" {
  service_account_id = google_service_account.build.name
  role               = "roles/iam.serviceAccountOpenIdTokenCreator"
  member             = google_service_account.build.member
}
