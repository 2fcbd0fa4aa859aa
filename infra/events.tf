# The event pipeline (python -m api.events): the relay that reads the ledger's change
# stream into the Events table, and its deliveries to Pub/Sub and webhooks.
#
# One instance, always: it holds a reader per change stream partition and must not be
# scaled to zero (no CPU between requests would stop it) or out (two relays only write
# the same events twice, but twice the work). During a rollout the old and the new
# revision overlap for a moment: consumers see duplicates, under the same event ids.
# It serves no traffic: ingress is internal and nobody may invoke it; the port answers
# Cloud Run's probes only.
#
# In an empty project the first apply creates everything here but the relay service
# itself: it has no image to run yet (the placeholder has no Python) and its database
# role, ledger_relay, exists only once the first deploy migrated the database. Once it
# has, events_relay_image (the image that deploy shipped) creates the relay, and every
# later deploy ships the relay too (docs/DEPLOY.md, steps 2 to 4).

locals {
  relay_deployed = var.events_enabled && var.events_relay_image != ""

  relay_env = merge(
    {
      LEDGER_PROJECT              = var.project_id
      LEDGER_SPANNER_INSTANCE     = google_spanner_instance.ledger.name
      LEDGER_SPANNER_DATABASE     = google_spanner_database.ledger.name
      LEDGER_SESSION_MODE         = var.session_mode
      LEDGER_USE_DATABASE_ROLES   = "true"
      LEDGER_EVENTS_DATABASE_ROLE = "ledger_relay"
      LEDGER_EVENTS_PUBSUB_TOPIC  = var.events_topic
      # Pub/Sub keeps an ordering key's order only among messages published in one
      # region: the relay publishes through that region's endpoint, never the global one.
      LEDGER_EVENTS_PUBSUB_REGION = var.region
      LEDGER_LOG_LEVEL            = var.log_level
    },
    # Only to accept a gap the relay refused to skip on its own (docs/OPERATIONS.md).
    {
      for name, value in {
        LEDGER_EVENTS_START_AT   = var.events_start_at
        LEDGER_EVENTS_ACCEPT_GAP = tostring(var.events_accept_gap)
      } : name => value if var.events_start_at != ""
    },
  )
}

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
# {"id", "url", "secret"}). Terraform writes only the first version, "[]" (no endpoint:
# nothing secret), so that the relay can start; endpoints are later versions added with
# `gcloud secrets versions add` (docs/EVENTS.md), which Terraform never reads or changes.
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

# A revision whose secret has no version never starts.
resource "google_secret_manager_secret_version" "webhooks_none" {
  count = var.events_enabled ? 1 : 0

  secret      = google_secret_manager_secret.webhooks[0].id
  secret_data = "[]"
  # Destroying this resource must not destroy the version the relay may still read.
  deletion_policy = "ABANDON"
}

resource "google_secret_manager_secret_iam_member" "relay_reads_webhooks" {
  count = var.events_enabled ? 1 : 0

  project   = var.project_id
  secret_id = google_secret_manager_secret.webhooks[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.relay[0].member
}

resource "google_cloud_run_v2_service" "relay" {
  count = local.relay_deployed ? 1 : 0

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
      image   = var.events_relay_image
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
        for_each = local.relay_env
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
    google_secret_manager_secret_version.webhooks_none,
    google_pubsub_topic_iam_member.relay_publisher,
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

# ----------------------------------------------------------------------------------
# Subscriptions (opt-in: events_subscriptions)
# ----------------------------------------------------------------------------------
#
# What a consumer needs to see each account's events in commit order, each event once:
# an ordered subscription (the relay publishes in one region, keyed by the account) with
# the primary filter. A message that fails events_max_delivery_attempts times moves to
# the dead-letter topic, and the account's later messages flow again: the consumer must
# reconcile that account from the feed (docs/EVENTS.md, "Subscribing").

locals {
  subscriptions = var.events_enabled ? var.events_subscriptions : {}
  # Pub/Sub's own service agent forwards dead letters: it publishes to the dead-letter
  # topic and acknowledges on the subscription.
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  subscription_consumers = {
    for pair in flatten([
      for id, members in local.subscriptions : [for m in members : { id = id, member = m }]
    ]) : "${pair.id} ${pair.member}" => pair
  }
}

resource "google_pubsub_topic" "events_dead_letter" {
  count = length(local.subscriptions) > 0 ? 1 : 0

  project                    = var.project_id
  name                       = "${var.events_topic}-dead-letter"
  message_retention_duration = "604800s"
  # checkov:skip=CKV_GCP_83:Google-managed encryption, like the events topic.

  depends_on = [google_project_service.enabled["pubsub.googleapis.com"]]
}

# Dead letters are kept here for an operator (a topic without a subscription drops them).
resource "google_pubsub_subscription" "events_dead_letter" {
  count = length(local.subscriptions) > 0 ? 1 : 0

  project                    = var.project_id
  name                       = google_pubsub_topic.events_dead_letter[0].name
  topic                      = google_pubsub_topic.events_dead_letter[0].id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  count = length(local.subscriptions) > 0 ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.events_dead_letter[0].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription" "events" {
  for_each = local.subscriptions

  project = var.project_id
  name    = each.key
  topic   = google_pubsub_topic.events[0].id

  enable_message_ordering    = true
  filter                     = "attributes.primary = \"true\""
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  # A consumer that is down for a month must find its subscription, not lose it.
  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.events_dead_letter[0].id
    max_delivery_attempts = var.events_max_delivery_attempts
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

resource "google_pubsub_subscription_iam_member" "dead_letter_forwarder" {
  for_each = local.subscriptions

  project      = var.project_id
  subscription = google_pubsub_subscription.events[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "consumers" {
  for_each = local.subscription_consumers

  project      = var.project_id
  subscription = google_pubsub_subscription.events[each.value.id].name
  role         = "roles/pubsub.subscriber"
  member       = each.value.member
}
