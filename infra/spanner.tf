# The Spanner instance and the ledger database. The schema is NOT here: spanner_ddl/ and
# `python -m api.spanner.migrations up` own it (the build runs them before each deploy),
# including the fine-grained database roles ledger_reader and ledger_writer that the
# runtime service account is allowed to assume (iam.tf).

locals {
  spanner_config = coalesce(var.spanner_instance_config, "regional-${var.region}")
}

resource "google_spanner_instance" "ledger" {
  project          = var.project_id
  name             = var.spanner_instance_name
  config           = local.spanner_config
  display_name     = "ledger"
  processing_units = var.spanner_processing_units
  force_destroy    = false

  depends_on = [google_project_service.enabled["spanner.googleapis.com"]]
}

resource "google_spanner_database" "ledger" {
  #checkov:skip=CKV_GCP_93:Encrypted at rest with Google-managed keys; CMEK (encryption_config) is an organisation policy choice that needs a KMS key ring this project does not own.
  project                  = var.project_id
  instance                 = google_spanner_instance.ledger.name
  name                     = var.spanner_database_name
  database_dialect         = "GOOGLE_STANDARD_SQL"
  version_retention_period = var.spanner_version_retention_period

  # Two locks: Terraform refuses to destroy it, and Spanner itself refuses to drop it
  # (and its instance) while drop protection is on.
  deletion_protection    = var.deletion_protection
  enable_drop_protection = var.deletion_protection

  lifecycle {
    # The migration runner applies DDL; Terraform must never try to reconcile it.
    ignore_changes = [ddl]
  }
}
