output "service_url" {
  description = "URL of the Cloud Run service; also the ID token audience callers must request."
  value       = local.service_url
}

output "service_uri_reported" {
  description = "The URL Cloud Run reports for the service (either URL form reaches the same service)."
  value       = google_cloud_run_v2_service.ledger.uri
}

output "runtime_service_account_email" {
  description = "The ledger's runtime identity (Spanner roles ledger_reader / ledger_writer only)."
  value       = google_service_account.runtime.email
}

output "build_service_account_email" {
  description = "The build-main trigger's identity (every push): test, build, push the image."
  value       = google_service_account.build.email
}

output "deploy_service_account_email" {
  description = "The deploy-main trigger's identity (after approval): migrate, deploy without traffic, smoke test, move traffic."
  value       = google_service_account.deploy.email
}

output "ci_service_account_email" {
  description = "The identity GitHub Actions gets through workload identity federation: no role on anything."
  value       = google_service_account.ci.email
}

output "hold_expiry_service_account_email" {
  description = "The hold-expiry Cloud Scheduler job's identity (null unless hold_expiry_scheduler)."
  value       = one(google_service_account.hold_expiry[*].email)
}

output "artifact_repository" {
  description = "Docker repository path for the ledger's images."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.ledger.repository_id}"
}

output "spanner_instance" {
  description = "LEDGER_SPANNER_INSTANCE."
  value       = google_spanner_instance.ledger.name
}

output "spanner_database" {
  description = "LEDGER_SPANNER_DATABASE."
  value       = google_spanner_database.ledger.name
}

output "spanner_backup_schedule" {
  description = "The daily full backup schedule of the ledger database (docs/OPERATIONS.md)."
  value       = google_spanner_backup_schedule.daily_full.id
}

output "build_source_staging_dir" {
  description = "Pass as --gcs-source-staging-dir to `gcloud builds submit`."
  value       = "gs://${google_storage_bucket.build_source.name}/source"
}

output "cloudbuild_substitutions" {
  description = "The --substitutions argument for a manual `gcloud builds submit --config cloudbuild.yaml` (append COMMIT_SHA=$(git rev-parse HEAD))."
  value       = join(",", [for k, v in local.build_substitutions : "${k}=${v}"])
}

output "cloudbuild_deploy_substitutions" {
  description = "The --substitutions argument for a manual `gcloud builds submit --config cloudbuild-deploy.yaml` (append COMMIT_SHA=<the commit whose image to deploy>)."
  value       = join(",", [for k, v in local.deploy_substitutions : "${k}=${v}"])
}

output "workload_identity_provider_github" {
  description = "workload_identity_provider input of google-github-actions/auth."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "workload_identity_provider_aws" {
  description = "Audience/provider for the Lambda's external-account credential configuration (null when AWS is disabled)."
  value       = local.aws_enabled ? google_iam_workload_identity_pool_provider.aws[0].name : null
}

output "audit_service_account_email" {
  description = "The ledger audit job's identity (Spanner role ledger_reader only)."
  value       = google_service_account.audit.email
}

output "audit_job" {
  description = "The Cloud Run job that runs python -m api.audit (docs/OPERATIONS.md)."
  value       = google_cloud_run_v2_job.audit.name
}

output "relay_service" {
  description = "The event relay's Cloud Run service (null until events_relay_image creates it: docs/DEPLOY.md, step 4)."
  value       = one(google_cloud_run_v2_service.relay[*].name)
}

output "relay_service_account_email" {
  description = "The event relay's identity (Spanner role ledger_relay only; publishes to the events topic)."
  value       = one(google_service_account.relay[*].email)
}

output "events_topic" {
  description = "The Pub/Sub topic the relay publishes to (null without events)."
  value       = one(google_pubsub_topic.events[*].name)
}

output "webhooks_secret" {
  description = "The Secret Manager secret that holds LEDGER_EVENTS_WEBHOOKS (null without events)."
  value       = one(google_secret_manager_secret.webhooks[*].secret_id)
}

output "page_token_secret" {
  description = "The Secret Manager secret that holds LEDGER_PAGE_TOKEN_SECRET."
  value       = google_secret_manager_secret.page_token.secret_id
}
