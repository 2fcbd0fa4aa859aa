# Continuous delivery: every push to the main branch runs cloudbuild.yaml as the build
# service account (test against the emulator -> build and push -> migrate -> deploy ->
# smoke test). The substitutions come from the same variables as the service itself, so
# a build never deploys settings that disagree with this configuration.

locals {
  build_substitutions = {
    _REGION           = var.region
    _REPOSITORY       = google_artifact_registry_repository.ledger.repository_id
    _SERVICE          = google_cloud_run_v2_service.ledger.name
    _SPANNER_INSTANCE = google_spanner_instance.ledger.name
    _SPANNER_DATABASE = google_spanner_database.ledger.name
    _RUNTIME_SA       = google_service_account.runtime.email
    _BUILD_SA         = google_service_account.build.email
    _MIN_INSTANCES    = tostring(var.min_instances)
    _MAX_INSTANCES    = tostring(var.max_instances)
    _CONCURRENCY      = tostring(var.concurrency)
    _TIMEOUT          = "${var.request_timeout_seconds}s"
    _EMULATOR_VERSION = var.emulator_version
  }
}

resource "google_cloudbuild_trigger" "deploy_main" {
  count = var.create_build_trigger ? 1 : 0

  project         = var.project_id
  location        = "global"
  name            = "${var.service_name}-deploy-main"
  description     = "spanner-ledger: test, build, migrate, deploy and smoke-test every push to ${var.trigger_branch_regex}"
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

# ----------------------------------------------------------------------------------
# Manual builds (`gcloud builds submit`): where the source archive is uploaded
# ----------------------------------------------------------------------------------

# `gcloud builds submit --gcs-source-staging-dir=gs://<this bucket>/source` uploads the
# working tree here; the build account may read it and nothing else in Cloud Storage.
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
