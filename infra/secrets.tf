# LEDGER_PAGE_TOKEN_SECRET: the key that signs the service's query page tokens (HMAC), the
# same in every instance. Terraform owns the service's environment, so the key comes from
# Secret Manager through it: a value set on the service by hand is gone at the next apply.
#
# The first version is made here, at the first apply, so that the service can start from
# then on (a revision whose secret has no version never starts). Its value is an
# ephemeral random password handed to a write-only argument: it never reaches the plan
# or the state. A new page_token_secret_generation makes a new key (docs/DEPLOY.md,
# "Secrets and their rotation").

resource "google_secret_manager_secret" "page_token" {
  project   = var.project_id
  secret_id = "${var.service_name}-page-token"
  # checkov:skip=CKV_GCP_131:Google-managed encryption, like the Spanner database; a CMEK key ring is a project decision, not this module's.

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled["secretmanager.googleapis.com"]]
}

ephemeral "random_password" "page_token" {
  length  = 64
  special = false
}

resource "google_secret_manager_secret_version" "page_token" {
  secret                 = google_secret_manager_secret.page_token.id
  secret_data_wo         = ephemeral.random_password.page_token.result
  secret_data_wo_version = var.page_token_secret_generation

  lifecycle {
    # A new generation exists before the old one goes: "latest" always resolves.
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret_iam_member" "runtime_reads_page_token" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.page_token.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}
