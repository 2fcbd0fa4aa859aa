# The ledger audit (python -m api.audit) as a Cloud Run job: the checking half of a
# restore (docs/OPERATIONS.md, step 4), and on demand against the serving database.
#
# It runs the service's own image with another command, as its own account that may
# only assume the database role ledger_reader: an audit reads one snapshot and never
# writes. The deploy does not touch the job; whoever runs it first points it at the
# image that serves (the runbook's commands), so it checks with the rules of the code
# that wrote the data.

resource "google_service_account" "audit" {
  project      = var.project_id
  account_id   = var.audit_service_account_id
  display_name = "ledger audit"
  description  = "The ledger audit job (python -m api.audit): Spanner database role ledger_reader only; no keys."

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

resource "google_spanner_database_iam_member" "audit_fine_grained_access" {
  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  role     = "roles/spanner.fineGrainedAccessUser"
  member   = google_service_account.audit.member
}

resource "google_spanner_database_iam_member" "audit_reader_role" {
  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  role     = "roles/spanner.databaseRoleUser"
  member   = google_service_account.audit.member

  condition {
    title       = "ledger_reader_only"
    description = "Only the ledger's read-only fine-grained database role."
    expression  = "resource.type == \"spanner.googleapis.com/DatabaseRole\" && resource.name.endsWith(\"/ledger_reader\")"
  }
}

resource "google_cloud_run_v2_job" "audit" {
  project  = var.project_id
  name     = "${var.service_name}-audit"
  location = var.region

  deletion_protection = var.deletion_protection

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.audit.email
      # Damage is not transient, and exit 1 must stay visible as a failed execution.
      max_retries = 0
      timeout     = "${var.audit_timeout_seconds + 60}s"

      containers {
        name    = "audit"
        image   = var.initial_image
        command = ["python", "-m", "api.audit"]
        # One JSON line: one structured log entry (severity ERROR when damaged).
        args = ["--json", "--timeout", tostring(var.audit_timeout_seconds)]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        dynamic "env" {
          for_each = {
            LEDGER_PROJECT            = var.project_id
            LEDGER_SPANNER_INSTANCE   = google_spanner_instance.ledger.name
            LEDGER_SPANNER_DATABASE   = google_spanner_database.ledger.name
            LEDGER_SESSION_MODE       = var.session_mode
            LEDGER_USE_DATABASE_ROLES = "true"
            LEDGER_READER_ROLE        = "ledger_reader"
            LEDGER_LOG_LEVEL          = var.log_level
            # One pass, then exit: the Spanner client's built-in metrics would only be
            # refused (this account may not write metrics) and nothing reads them.
            SPANNER_DISABLE_BUILTIN_METRICS = "true"
          }
          content {
            name  = env.key
            value = env.value
          }
        }
      }
    }
  }

  lifecycle {
    # Set to the serving image when the job is run (docs/OPERATIONS.md).
    ignore_changes = [
      template[0].template[0].containers[0].image,
      client,
      client_version,
    ]
  }

  depends_on = [
    google_project_service.enabled["run.googleapis.com"],
    google_spanner_database_iam_member.audit_fine_grained_access,
    google_spanner_database_iam_member.audit_reader_role,
  ]
}
