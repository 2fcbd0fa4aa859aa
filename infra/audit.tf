# Data Access audit logs for Spanner: who read what, who wrote what, who looked at the
# schema. Admin Activity logs (DDL, IAM, backups) are always on and cannot be disabled;
# these are off until enabled here.
#
#   ADMIN_READ  GetDatabaseDdl, GetIamPolicy, ListBackups, GetOperation, ...
#   DATA_READ   Read, ExecuteSql, ... - every query of every caller, the service included
#   DATA_WRITE  Commit, ExecuteSql with DML, ...
#
# No member is exempted: the runtime account's own reads and writes are the record of
# what the service did, and an exemption would hide whoever else holds its identity.
# This is the volume-heavy part of the ledger's logging (one entry per Spanner call; see
# Cloud Logging pricing): route or exclude at the log sink if it costs too much, rather
# than turning it off here.
#
# google_project_iam_audit_config is authoritative for its service: any other audit
# configuration for spanner.googleapis.com in the project (console, gcloud) is replaced.
resource "google_project_iam_audit_config" "spanner" {
  project = var.project_id
  service = "spanner.googleapis.com"

  audit_log_config {
    log_type = "ADMIN_READ"
  }

  audit_log_config {
    log_type = "DATA_READ"
  }

  audit_log_config {
    log_type = "DATA_WRITE"
  }
}
