# The ledger on Cloud Run. Terraform owns the service's configuration; the deploy build
# (cloudbuild-deploy.yaml) owns the image and the traffic: it deploys each commit's image
# by digest as a revision with no traffic and a tag, smoke-tests the tag's URL, then
# moves 100% of the traffic to that revision by name. Terraform ignores both after the
# first apply.

locals {
  # Cloud Run's deterministic URL: known before the service exists, so it can be the
  # token audience the service checks (LEDGER_AUTH_AUDIENCE) and the one callers ask for.
  service_url = "https://${var.service_name}-${data.google_project.this.number}.${var.region}.run.app"

  # Who may do what, by verified token principal. The deploy account reads once per
  # deploy (smoke test); the hold-expiry job's account (hold_expiry.tf, when enabled)
  # writes: POST /v1/transfers:expire needs ledger.write. Nothing else is implied.
  principal_scopes = merge(
    var.principal_scopes,
    { (google_service_account.deploy.email) = ["ledger.read"] },
    { for sa in google_service_account.hold_expiry : sa.email => ["ledger.write"] },
  )

  service_env = {
    LEDGER_PROJECT                 = var.project_id
    LEDGER_SPANNER_INSTANCE        = google_spanner_instance.ledger.name
    LEDGER_SPANNER_DATABASE        = google_spanner_database.ledger.name
    LEDGER_SESSION_MODE            = var.session_mode
    LEDGER_AUTH_MODE               = "google"
    LEDGER_AUTH_AUDIENCE           = local.service_url
    LEDGER_AUTH_PRINCIPAL_SCOPES   = jsonencode(local.principal_scopes)
    LEDGER_USE_DATABASE_ROLES      = "true"
    LEDGER_READER_ROLE             = "ledger_reader"
    LEDGER_WRITER_ROLE             = "ledger_writer"
    LEDGER_REQUEST_TIMEOUT_SECONDS = tostring(min(300, max(1, var.request_timeout_seconds - 5)))
    LEDGER_LOG_LEVEL               = var.log_level
    LEDGER_OTEL_ENABLED            = tostring(var.tracing_enabled)
    LEDGER_OTEL_SAMPLE_RATIO       = tostring(var.trace_sample_ratio)
    # Pooled mode only (docs/OPERATIONS.md, Sessions): a session for every thread that
    # can run Spanner work at once - requests up to concurrency, at most the threadpool's
    # 40 - and the group-commit writer and the hold sweeper.
    LEDGER_POOL_SIZE = tostring(min(var.concurrency, 40) + 2)
  }
}

resource "google_cloud_run_v2_service" "ledger" {
  project     = var.project_id
  name        = var.service_name
  location    = var.region
  description = "spanner-ledger: double-entry ledger HTTP API"
  ingress     = var.ingress

  deletion_protection = var.deletion_protection
  # Every request must carry an ID token of a principal holding roles/run.invoker
  # (the default; stated so that nobody flips it quietly).
  invoker_iam_disabled = false

  # The service URL is also the audience the app checks (LEDGER_AUTH_AUDIENCE). A custom
  # audience is accepted on every URL of the service, so a token minted for it also
  # passes Cloud Run's check on a revision's tag URL (the deploy's smoke test calls
  # https://<tag>---...). Without it that depends on which audiences Cloud Run derives
  # for tag URLs, which Google does not document.
  custom_audiences = [local.service_url]

  template {
    service_account                  = google_service_account.runtime.email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "${var.request_timeout_seconds}s"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      name  = "ledger"
      image = var.initial_image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = !var.cpu_always_allocated
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.service_env
        content {
          name  = env.key
          value = env.value
        }
      }

      # Resolved when an instance starts: a new key reaches the service with its next
      # revision (docs/DEPLOY.md, "Secrets and their rotation").
      env {
        name = "LEDGER_PAGE_TOKEN_SECRET"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.page_token.secret_id
            version = "latest"
          }
        }
      }

      # Traffic only once Spanner answers and the schema is current (the deploy migrates
      # before it deploys). Up to 60 s: initial_delay + failure_threshold x period.
      # Probes are sent by Cloud Run to the container itself, not through the public
      # URL, where paths ending in z (/healthz, maybe /readyz) are reserved by Google
      # and answered with its own 404 - so the smoke test and callers use /v1 routes.
      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 2
        timeout_seconds       = 2
        failure_threshold     = 30
        http_get {
          path = "/readyz"
        }
      }

      # Restart only a wedged process: /healthz does not touch Spanner, so a Spanner
      # outage gives 503s from the app, not a crash loop.
      liveness_probe {
        period_seconds    = 10
        timeout_seconds   = 3
        failure_threshold = 3
        http_get {
          path = "/healthz"
        }
      }
    }
  }

  # The first revision only. From the first deploy on, traffic is pinned to the revision
  # the deploy smoke-tested (by name): a configuration change applied here creates a
  # revision that gets no traffic until the deploy build ships it (docs/DEPLOY.md), and
  # an apply never sends traffic to an untested revision.
  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    ignore_changes = [
      # The deploy build deploys a new image per commit, and moves the traffic.
      template[0].containers[0].image,
      traffic,
      # Set by gcloud on each deploy.
      client,
      client_version,
      template[0].labels,
      template[0].annotations,
    ]
  }

  depends_on = [
    google_project_service.enabled["run.googleapis.com"],
    google_spanner_database_iam_member.runtime_fine_grained_access,
    google_spanner_database_iam_member.runtime_database_roles,
    google_secret_manager_secret_version.page_token,
    google_secret_manager_secret_iam_member.runtime_reads_page_token,
  ]
}

# Callers (never allUsers / allAuthenticatedUsers: the variable refuses them).
resource "google_cloud_run_v2_service_iam_member" "invokers" {
  for_each = toset(var.invoker_members)

  project  = var.project_id
  location = google_cloud_run_v2_service.ledger.location
  name     = google_cloud_run_v2_service.ledger.name
  role     = "roles/run.invoker"
  member   = each.value
}

# The deploy's smoke test calls one read on the new revision's tag URL.
resource "google_cloud_run_v2_service_iam_member" "deploy_invoker" {
  project  = var.project_id
  location = google_cloud_run_v2_service.ledger.location
  name     = google_cloud_run_v2_service.ledger.name
  role     = "roles/run.invoker"
  member   = google_service_account.deploy.member
}

# `gcloud run deploy --no-allow-unauthenticated` re-asserts on every deploy that the
# service is private: it reads the service's IAM policy and writes it back without
# allUsers. That needs run.services.get/setIamPolicy, which roles/run.developer lacks.
# This custom role holds exactly those two permissions, bound on this service only.
resource "google_project_iam_custom_role" "run_service_iam_editor" {
  project     = var.project_id
  role_id     = "${replace(var.service_name, "-", "_")}RunServiceIamEditor"
  title       = "Ledger: edit one Cloud Run service's IAM policy"
  description = "Lets the ledger deploy keep its Cloud Run service private (gcloud run deploy --no-allow-unauthenticated)."
  permissions = [
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
  ]

  depends_on = [google_project_service.enabled["iam.googleapis.com"]]
}

resource "google_cloud_run_v2_service_iam_member" "deploy_keeps_service_private" {
  project  = var.project_id
  location = google_cloud_run_v2_service.ledger.location
  name     = google_cloud_run_v2_service.ledger.name
  role     = google_project_iam_custom_role.run_service_iam_editor.id
  member   = google_service_account.deploy.member
}
