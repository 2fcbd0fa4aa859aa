# Releasing expired holds on Cloud Run without CPU between requests.
#
# Every worker of the ledger releases holds whose time is up in a background thread
# (LEDGER_HOLD_SWEEP_INTERVAL_SECONDS). With request-based billing (cpu_always_allocated
# = false, the default) Cloud Run throttles the CPU outside requests, so that thread runs
# only while requests are in flight. This optional Cloud Scheduler job calls
# POST /v1/transfers:expire every minute instead, as a dedicated service account that may
# invoke the service and holds ledger.write (and nothing else).
#
# Off by default: Cloud Scheduler sends its OIDC token in `Authorization` only, which
# Cloud Run checks and then passes to the container with the signature removed, so the
# app (which verifies signatures itself) answers 401. See docs/DEPLOY.md, "Expiring holds
# on Cloud Run", for what works today (cpu_always_allocated = true) and what this job
# needs from the app before it is turned on.

resource "google_service_account" "hold_expiry" {
  count = var.hold_expiry_scheduler ? 1 : 0

  project      = var.project_id
  account_id   = var.hold_expiry_service_account_id
  display_name = "ledger hold expiry"
  description  = "Cloud Scheduler's identity for POST /v1/transfers:expire on the ledger: run.invoker on the service and ledger.write in the app; no keys."

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

# May reach the service (Cloud Run IAM); what it may do inside is ledger.write, through
# LEDGER_AUTH_PRINCIPAL_SCOPES (local.principal_scopes in cloud_run.tf).
resource "google_cloud_run_v2_service_iam_member" "hold_expiry_invoker" {
  count = var.hold_expiry_scheduler ? 1 : 0

  project  = var.project_id
  location = google_cloud_run_v2_service.ledger.location
  name     = google_cloud_run_v2_service.ledger.name
  role     = "roles/run.invoker"
  member   = google_service_account.hold_expiry[0].member
}

resource "google_cloud_scheduler_job" "hold_expiry" {
  count = var.hold_expiry_scheduler ? 1 : 0

  project     = var.project_id
  region      = var.region
  name        = "${var.service_name}-hold-expiry"
  description = "Releases the ledger's expired holds: POST /v1/transfers:expire."
  schedule    = var.hold_expiry_schedule
  time_zone   = var.hold_expiry_time_zone
  # Scheduler allows 15 s to 30 min; the app answers within its request budget.
  attempt_deadline = "${max(15, var.request_timeout_seconds)}s"

  # A sweep is idempotent and the next one is a schedule period away: no retries.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = "${local.service_url}/v1/transfers:expire"

    # Google-signed ID token of the dedicated account, for the service URL: the audience
    # both Cloud Run IAM and the app (LEDGER_AUTH_AUDIENCE) expect.
    oidc_token {
      service_account_email = google_service_account.hold_expiry[0].email
      audience              = local.service_url
    }
  }

  depends_on = [
    google_project_service.enabled["cloudscheduler.googleapis.com"],
    google_cloud_run_v2_service_iam_member.hold_expiry_invoker,
  ]
}
