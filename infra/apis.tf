# Every API the ledger and its delivery use. Disabling them on destroy would break
# anything else in the project that uses them, so destroy leaves them on.
locals {
  services = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com", # the optional hold-expiry job (hold_expiry.tf)
    "cloudtrace.googleapis.com",     # the service's OpenTelemetry traces (iam.tf)
    "iam.googleapis.com",
    "iamcredentials.googleapis.com", # short-lived tokens: impersonation, ID tokens
    "logging.googleapis.com",
    "monitoring.googleapis.com", # the Spanner client's built-in metrics (iam.tf)
    "pubsub.googleapis.com",        # the events topic (events.tf)
    "run.googleapis.com",
    "secretmanager.googleapis.com", # the webhook endpoints and secrets (events.tf)
    "spanner.googleapis.com",
    "sts.googleapis.com", # workload identity federation token exchange
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.services

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
