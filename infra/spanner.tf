# The Spanner instance and the ledger database. The schema is NOT here: spanner_ddl/ and
# `python -m api.migrate up` own it (the build runs them before each deploy),
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

  # No automatic "default" schedule (daily, kept 7 days) on databases created here: the
  # one backup schedule is the one declared below, so a restore has one list to pick from.
  default_backup_schedule_type = "NONE"

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

# ----------------------------------------------------------------------------------
# Recovery: a 7-day point-in-time window, and a daily full backup kept longer
# ----------------------------------------------------------------------------------
#
# version_retention_period (above, 7 days) lets a restore go back to any second of the
# last week: a bad deploy, a bad batch, an operator's mistake noticed within days. The
# schedule below adds one externally consistent copy a day, kept
# var.spanner_backup_retention_days (35 by default): a month-end reconciliation that
# finds something wrong in the previous month, plus a working week to notice and act.
# Longer keeps more full copies of the database for no recovery point the ledger needs:
# its history is never deleted or rewritten, so backups guard against corruption and
# destructive mistakes, not against needing old rows. Restoring, checking and switching
# the service over: docs/OPERATIONS.md.
#
# The schedule belongs to the database (dropped with it); the backups it made do not.
resource "google_spanner_backup_schedule" "daily_full" {
  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  name     = "daily-full"

  retention_duration = "${var.spanner_backup_retention_days * 86400}s"

  spec {
    cron_spec {
      text = var.spanner_backup_schedule_cron
    }
  }

  full_backup_spec {}
}
