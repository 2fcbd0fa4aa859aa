# Continuous delivery in two builds, as two identities:
#
#   <service>-build-main   every push to var.trigger_branch_regex, at once, as ledger-build:
#                          cloudbuild.yaml - test against the emulator, build, push the
#                          commit's image. It can touch neither the database nor the service.
#   <service>-deploy-main  the same pushes, but each build waits for a person's approval
#                          (Cloud Build approvals, roles/cloudbuild.builds.approver), then
#                          runs cloudbuild-deploy.yaml as ledger-deploy: wait for the
#                          commit's image, migrate, deploy it with no traffic and a tag,
#                          smoke-test the tag's URL, move the traffic.
#
# The substitutions come from the same variables as the service itself, so a build never
# deploys settings that disagree with this configuration.

locals {
  build_substitutions = {
    _REGION           = var.region
    _REPOSITORY       = google_artifact_registry_repository.ledger.repository_id
    _SERVICE          = google_cloud_run_v2_service.ledger.name
    _BUILD_SA         = google_service_account.build.email
    _EMULATOR_VERSION = var.emulator_version
    # The Pub/Sub emulator beside the test step (the Google Cloud CLI image, with Java).
    _GCLOUD_EMULATORS_VERSION = var.gcloud_emulators_version
  }

  deploy_substitutions = {
    _REGION           = var.region
    _REPOSITORY       = google_artifact_registry_repository.ledger.repository_id
    _SERVICE          = google_cloud_run_v2_service.ledger.name
    _SPANNER_INSTANCE = google_spanner_instance.ledger.name
    _SPANNER_DATABASE = google_spanner_database.ledger.name
    _RUNTIME_SA       = google_service_account.runtime.email
    _DEPLOY_SA        = google_service_account.deploy.email
    _MIN_INSTANCES    = tostring(var.min_instances)
    _MAX_INSTANCES    = tostring(var.max_instances)
    _CONCURRENCY      = tostring(var.concurrency)
    _TIMEOUT          = "${var.request_timeout_seconds}s"
    # The event relay (events.tf) runs the same image; empty until it exists (a project's
    # first deploy has no relay to ship: docs/DEPLOY.md, step 4) or without events.
    _RELAY_SERVICE = local.relay_deployed ? google_cloud_run_v2_service.relay[0].name : ""
  }
}

resource "google_cloudbuild_trigger" "build_main" {
  count = var.create_build_trigger ? 1 : 0

  project         = var.project_id
  location        = "global"
  name            = "${var.service_name}-build-main"
  description     = "spanner-ledger: test, build and push the image of every push to ${var.trigger_branch_regex}"
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.build.id
  substitutions   = local.build_substitutions

  # Cloud Build GitHub app (first generation) connection; see docs/DEPLOY.md.
  github {
    owner = var.github_owner
    name  = var.github_repository
    push {
      branch = var.trigger_branch_regex
    }
  }

  include_build_logs = "INCLUDE_BUILD_LOGS_WITH_STATUS"

  depends_on = [
    google_project_service.enabled["cloudbuild.googleapis.com"],
    google_project_iam_member.build_log_writer,
  ]
}

resource "google_cloudbuild_trigger" "deploy_main" {
  count = var.create_build_trigger ? 1 : 0

  project         = var.project_id
  location        = "global"
  name            = "${var.service_name}-deploy-main"
  description     = "spanner-ledger: after approval, migrate, deploy with no traffic, smoke-test the tag, move traffic, for every push to ${var.trigger_branch_regex}"
  filename        = "cloudbuild-deploy.yaml"
  service_account = google_service_account.deploy.id
  substitutions   = local.deploy_substitutions

  github {
    owner = var.github_owner
    name  = var.github_repository
    push {
      branch = var.trigger_branch_regex
    }
  }

  # Each build of this trigger is created PENDING and starts only once someone with
  # roles/cloudbuild.builds.approver approves it (var.deploy_approvers); a rejected
  # build never starts. Approve after the build-main build of the same commit is green.
  approval_config {
    approval_required = true
  }

  include_build_logs = "INCLUDE_BUILD_LOGS_WITH_STATUS"

  depends_on = [
    google_project_service.enabled["cloudbuild.googleapis.com"],
    google_project_iam_member.deploy_log_writer,
  ]
}

# Who may approve production deploys (and so production migrations). Project-level: the
# approver role cannot be granted on a single trigger.
resource "google_project_iam_member" "deploy_approvers" {
  for_each = toset(var.deploy_approvers)

  project = var.project_id
  role    = "roles/cloudbuild.builds.approver"
  member  = each.value
}

# ----------------------------------------------------------------------------------
# Manual builds (`gcloud builds submit`): where the source archive is uploaded
# ----------------------------------------------------------------------------------

# `gcloud builds submit --gcs-source-staging-dir=gs://<this bucket>/source` uploads the
# working tree here; the build account may read it and nothing else in Cloud Storage.
# (A manual deploy build needs no source: `gcloud builds submit --no-source`.)
resource "google_storage_bucket" "build_source" {
  #checkov:skip=CKV_GCP_62:Holds throw-away source archives for manual builds; Cloud Audit Logs (Data Access) is the access record, a second log bucket would only log uploads.
  project                     = var.project_id
  name                        = "${var.project_id}-${var.service_name}-build-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 1
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled["storage.googleapis.com"]]
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.build_source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
}
