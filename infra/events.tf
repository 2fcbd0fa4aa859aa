# The event pipeline (python -m api.events): the relay that reads the ledger's change
# stream into the Events table, and its deliveries to Pub/Sub and webhooks.
#
# One instance, always: it holds a reader per change stream partition and must not be
# scaled to zero (no CPU between requests would stop it) or out (two relays only write
# the same events twice, but twice the work). During a rollout the old and the new
# revision overlap for a moment: consumers see duplicates, under the same event ids.
# It serves no traffic: ingress is internal and nobody may invoke it; the port answers
# Cloud Run's probes only.

resource "google_service_account" "relay" {
  count = var.events_enabled ? 1 : 0

  project      = var.project_id
  account_id   = var.relay_service_account_id
  display_name = "ledger event relay"
  description  = "Reads the ledger's change stream and writes Events through the ledger_relay database role; publishes to the events topic; no keys."

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

# Like the runtime account: the database only through a database role, and only one,
# ledger_relay (spanner_ddl/0012): SELECT on the change stream, its own tables, no
# ledger table.
resource "google_spanner_database_iam_member" "relay_fine_grained_access" {
  count = var.events_enabled ? 1 : 0

  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  role     = "roles/spanner.fineGrainedAccessUser"
  member   = google_service_account.relay[0].member
}

resource "google_spanner_database_iam_member" "relay_database_role" {
  count = var.events_enabled ? 1 : 0

  project  = var.project_id
  instance = google_spanner_instance.ledger.name
  database = google_spanner_database.ledger.name
  role     = "roles/spanner.databaseRoleUser"
  member   = google_service_account.relay[0].member

  condition {
    title       = "ledger_relay_only"
    description = "Only the relay's fine-grained database role."
    expression  = "resource.type == \"spanner.googleapis.com/DatabaseRole\" && resource.name.endsWith(\"/ledger_relay\")"
  }
}

resource "google_project_iam_member" "relay_metric_writer" {
  count = var.events_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/monitoring.metricWriter"
  member  = google_service_account.relay[0].member
}

resource "google_pubsub_topic" "events" {
  count = var.events_enabled ? 1 : 0

  project = var.project_id
  name    = var.events_topic
  # Consumers that fall behind can seek back a week; the Events table keeps 30 days.
  message_retention_duration = "604800s"
  # checkov:skip=CKV_GCP_83:Google-managed encryption, like the Spanner database; a CMEK key ring is a project decision, not this module's.

  depends_on = [google_project_service.enabled["pubsub.googleapis.com"]]
}

resource "google_pubsub_topic_iam_member" "relay_publisher" {
  count = var.events_enabled ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.events[0].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.relay[0].member
}

# The webhook endpoints and their signing secrets (LEDGER_EVENTS_WEBHOOKS, a JSON list of
# {"id", "url", "secret"}). Terraform creates the secret, never its value: add a version
# with `gcloud secrets versions add` (docs/EVENTS.md). "[]" means no webhooks.
resource "google_secret_manager_secret" "webhooks" {
  count = var.events_enabled ? 1 : 0

  project   = var.project_id
  secret_id = "ledger-events-webhooks"
  # checkov:skip=CKV_GCP_131:Google-managed encryption; see the topic above.

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled["secretmanager.googleapis.com"]]
}

resource "google_secret_manager_secret_iam_member" "relay_reads_webhooks" {
  count = var.events_enabled ? 1 : 0

  project   = var.project_id
  secret_id = google_secret_manager_secret.webhooks[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.relay[0].member
}

resource "google_cloud_run_v2_service" "relay" {
  count = var.events_enabled ? 1 : 0

  project     = var.project_id
  name        = var.relay_service_name
  location    = var.region
  description = "spanner-ledger event relay: change stream -> Events, Pub/Sub, webhooks"
  ingress     = "INGRESS_TRAFFIC_INTERNAL_ONLY"

  deletion_protection  = var.deletion_protection
  invoker_iam_disabled = false

  template {
    service_account = google_service_account.relay[0].email

    scaling {
      min_instance_count = 1
      max_instance_count = 1
    }

    containers {
      name    = "relay"
      image   = var.initial_image
      command = ["python", "-m", "api.events"]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
        # Its threads read the stream between requests: CPU always.
        cpu_idle = false
      }

      dynamic "env" {
        for_each = {
          LEDGER_PROJECT             = var.project_id
          LEDGER_SPANNER_INSTANCE    = google_spanner_instance.ledger.name
          LEDGER_SPANNER_DATABASE    = google_spanner_database.ledger.name
          LEDGER_SESSION_MODE        = var.session_mode
          LEDGER_USE_DATABASE_ROLES  = "true"
          LEDGER_EVENTS_DATABASE_ROLE = "ledger_relay"
          LEDGER_EVENTS_PUBSUB_TOPIC = google_pubsub_topic.events[0].name
          LEDGER_LOG_LEVEL           = var.log_level
        }
        content {
          name  = env.key
          value = env.value
        }
      }

      env {
        name = "LEDGER_EVENTS_WEBHOOKS"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.webhooks[0].secret_id
            version = "latest"
          }
        }
      }

      startup_probe {
        period_seconds    = 2
        failure_threshold = 30
        http_get {
          path = "/"
        }
      }

      liveness_probe {
        period_seconds    = 15
        failure_threshold = 4
        http_get {
          path = "/"
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [
      template[0].containers[0].image,
      client,
      client_version,
      template[0].labels,
      template[0].annotations,
    ]
  }

  depends_on = [
    google_project_service.enabled["run.googleapis.com"],
    google_spanner_database_iam_member.relay_fine_grained_access,
    google_spanner_database_iam_member.relay_database_role,
    google_secret_manager_secret_iam_member.relay_reads_webhooks,
  ]
}

# The deploy build ships each commit's image to the relay too (cloudbuild-deploy.yaml,
# step ship-relay), after the ledger's revision passed: it deploys as the relay account.
resource "google_service_account_iam_member" "deploy_acts_as_relay" {
  count = var.events_enabled ? 1 : 0

  service_account_id = google_service_account.relay[0].name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deploy.member
}
