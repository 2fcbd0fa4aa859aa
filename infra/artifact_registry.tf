# Docker repository for the ledger's images, tagged with the commit SHA by Cloud Build.
resource "google_artifact_registry_repository" "ledger" {
  #checkov:skip=CKV_GCP_84:Images hold no data beyond the public source; Google-managed encryption at rest. CMEK (kms_key_name) needs a KMS key ring this project does not own.
  project       = var.project_id
  location      = var.region
  repository_id = var.artifact_repository_id
  format        = "DOCKER"
  description   = "spanner-ledger container images (tag = git commit SHA; deployed by digest)"

  docker_config {
    # A commit SHA tag always names the same bytes: no re-pushing over a deployed tag.
    # A retried build of the same commit therefore skips the push (cloudbuild.yaml).
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.image_retention_count
    }
  }

  cleanup_policies {
    id     = "delete-old-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "2592000s" # 30 days
    }
  }

  depends_on = [google_project_service.enabled["artifactregistry.googleapis.com"]]
}

# The build (every push) pushes images here: one per commit, never overwritten.
resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.ledger.location
  repository = google_artifact_registry_repository.ledger.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build.member
}

# The deploy (after approval) only reads them: it resolves the commit's tag to a digest
# and runs the migration step from that image.
resource "google_artifact_registry_repository_iam_member" "deploy_reader" {
  project    = var.project_id
  location   = google_artifact_registry_repository.ledger.location
  repository = google_artifact_registry_repository.ledger.name
  role       = "roles/artifactregistry.reader"
  member     = google_service_account.deploy.member
}
