# ----------------------------------------------------------------------------------
# Where
# ----------------------------------------------------------------------------------

variable "project_id" {
  description = "ID of the Google Cloud project that holds every resource of the ledger."
  type        = string
}

variable "region" {
  description = "Region for Cloud Run, Artifact Registry, the Cloud Build trigger and (by default) the Spanner instance configuration."
  type        = string
  default     = "us-central1"
}

# ----------------------------------------------------------------------------------
# Spanner
# ----------------------------------------------------------------------------------

variable "spanner_instance_name" {
  description = "Spanner instance ID (LEDGER_SPANNER_INSTANCE)."
  type        = string
  default     = "ledger"
}

variable "spanner_instance_config" {
  description = "Spanner instance configuration, e.g. regional-us-central1 or nam6 (multi-region). Null means regional-<region>."
  type        = string
  default     = null
}

variable "spanner_processing_units" {
  description = "Compute capacity of the Spanner instance in processing units: 100 to 900 in steps of 100, then multiples of 1000 (1000 = 1 node)."
  type        = number
  default     = 100

  validation {
    condition = (
      (var.spanner_processing_units >= 100 && var.spanner_processing_units < 1000 && var.spanner_processing_units % 100 == 0)
      || (var.spanner_processing_units >= 1000 && var.spanner_processing_units % 1000 == 0)
    )
    error_message = "Processing units must be 100-900 in steps of 100, or a multiple of 1000."
  }
}

variable "spanner_database_name" {
  description = "Spanner database ID (LEDGER_SPANNER_DATABASE). Its schema is owned by spanner_ddl/ and the migration runner, never by Terraform."
  type        = string
  default     = "ledger"
}

variable "spanner_version_retention_period" {
  description = "How far back point-in-time recovery (docs/OPERATIONS.md restores to any second in it) and stale reads can go. Not as_of balances: those read the entries, at any age."
  type        = string
  default     = "7d"
}

variable "spanner_backup_schedule_cron" {
  description = "When the daily full backup is taken (unix-cron, UTC; Spanner allows 12-hour, daily, weekly or monthly). The backup is an externally consistent copy as of that time."
  type        = string
  default     = "0 3 * * *"
}

variable "spanner_backup_retention_days" {
  description = "How long each daily full backup is kept, in days (Spanner allows up to 366). The 7-day version retention covers any second of the last week; these cover the rest, one point a day. See docs/OPERATIONS.md for why 35."
  type        = number
  default     = 35

  validation {
    condition     = var.spanner_backup_retention_days >= 8 && var.spanner_backup_retention_days <= 366 && floor(var.spanner_backup_retention_days) == var.spanner_backup_retention_days
    error_message = "spanner_backup_retention_days must be a whole number of days from 8 (longer than the 7-day point-in-time window, or the backups add nothing) to 366 (Spanner's maximum)."
  }
}

variable "deletion_protection" {
  description = "Refuse to destroy the Spanner instance and database, and the Cloud Run service, from Terraform. Turn off only to tear down a scratch project."
  type        = bool
  default     = true
}

# ----------------------------------------------------------------------------------
# Service accounts and images
# ----------------------------------------------------------------------------------

variable "runtime_service_account_id" {
  description = "Account ID (the part before @) of the service account the ledger runs as on Cloud Run."
  type        = string
  default     = "ledger-runtime"
}

variable "build_service_account_id" {
  description = "Account ID (the part before @) of the service account the build-main trigger runs as on every push (cloudbuild.yaml): tests, builds and pushes the image; no database, no deploy."
  type        = string
  default     = "ledger-build"
}

variable "deploy_service_account_id" {
  description = "Account ID (the part before @) of the service account the deploy-main trigger runs as after approval (cloudbuild-deploy.yaml): migrates (DDL without drop or IAM), deploys without traffic, smoke-tests, moves traffic."
  type        = string
  default     = "ledger-deploy"
}

variable "ci_service_account_id" {
  description = "Account ID (the part before @) of the service account GitHub Actions acts as through workload identity federation. It holds no role: no data access, no other account."
  type        = string
  default     = "ledger-ci"
}

variable "audit_service_account_id" {
  description = "Account ID (the part before @) of the ledger audit job's identity: it may only assume the Spanner database role ledger_reader."
  type        = string
  default     = "ledger-audit"
}

variable "audit_timeout_seconds" {
  description = "How long one run of the ledger audit job may read (python -m api.audit --timeout); the task gets a minute more."
  type        = number
  default     = 3600

  validation {
    condition     = var.audit_timeout_seconds >= 60 && var.audit_timeout_seconds <= 86000
    error_message = "audit_timeout_seconds must be between 60 and 86000 (Cloud Run jobs allow 24 hours per task)."
  }
}

variable "artifact_repository_id" {
  description = "Artifact Registry Docker repository that holds the ledger's images (_REPOSITORY in both build configs)."
  type        = string
  default     = "ledger"
}

variable "image_retention_count" {
  description = "How many most recent image versions Artifact Registry keeps; older untagged versions are cleaned up."
  type        = number
  default     = 20
}

variable "initial_image" {
  description = "Image for the service's first revision, before Cloud Build has pushed one. Cloud Build owns the image from then on (Terraform ignores later changes)."
  type        = string
  default     = "us-docker.pkg.dev/cloudrun/container/hello"
}

# ----------------------------------------------------------------------------------
# Cloud Run
# ----------------------------------------------------------------------------------

variable "service_name" {
  description = "Name of the Cloud Run service (_SERVICE in both build configs); also the image name."
  type        = string
  default     = "ledger"
}

variable "min_instances" {
  description = "Minimum number of warm instances (_MIN_INSTANCES). 1 or more avoids cold starts on the first request after idle."
  type        = number
  default     = 1
}

variable "max_instances" {
  description = "Maximum number of instances; bounds cost and the number of Spanner sessions (max_instances x pool size)."
  type        = number
  default     = 10
}

variable "concurrency" {
  description = "Maximum concurrent requests per instance (_CONCURRENCY). Concurrent transfers in one instance are group-committed together."
  type        = number
  default     = 80
}

variable "request_timeout_seconds" {
  description = "Cloud Run request timeout in seconds (_TIMEOUT). Keep it above LEDGER_REQUEST_TIMEOUT_SECONDS so the app answers 503 before the platform cuts the request."
  type        = number
  default     = 30
}

variable "cpu" {
  description = "vCPUs per instance."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory per instance."
  type        = string
  default     = "512Mi"
}

variable "cpu_always_allocated" {
  description = "Instance-based billing (CPU outside requests: background session keep-alive and the in-process release of expired holds) instead of request-based billing."
  type        = bool
  default     = false
}

variable "ingress" {
  description = "Who can reach the service over the network. Only INGRESS_TRAFFIC_ALL works with this delivery: the deploy's smoke test calls the new revision's tag URL from Cloud Build's default pool, which is outside every VPC, so with internal ingress no deploy could ever pass it and move traffic. Callers are limited by IAM instead (run.invoker, invoker_members) and by the app's own token check. See docs/DEPLOY.md, \"Ingress\"."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition     = var.ingress == "INGRESS_TRAFFIC_ALL"
    error_message = "Internal ingress (INGRESS_TRAFFIC_INTERNAL_ONLY, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER) would refuse the deploy's smoke test, which calls the tag URL from outside the VPC: every deploy would fail before moving traffic. See docs/DEPLOY.md, \"Ingress\"."
  }
}

variable "invoker_members" {
  description = "IAM members allowed to call the service (roles/run.invoker), e.g. [\"serviceAccount:payments@my-project.iam.gserviceaccount.com\", \"group:ledger-ops@example.com\"]. Public principals are refused."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.invoker_members : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "The ledger is never public: allUsers and allAuthenticatedUsers cannot be invokers."
  }
}

variable "principal_scopes" {
  description = "LEDGER_AUTH_PRINCIPAL_SCOPES: caller principal (service account or user email) -> scopes (ledger.read, ledger.write). The build service account is added with ledger.read for the smoke test."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for scopes in values(var.principal_scopes) : alltrue([for s in scopes : contains(["ledger.read", "ledger.write"], s)])])
    error_message = "Scopes must be ledger.read or ledger.write."
  }
}

variable "hold_expiry_scheduler" {
  description = "Create the Cloud Scheduler job that calls POST /v1/transfers:expire (hold_expiry.tf), its service account, run.invoker and ledger.write for it. Off by default: the app rejects the token Cloud Run passes on from Scheduler (signature removed); see docs/DEPLOY.md, \"Expiring holds on Cloud Run\". Today, use cpu_always_allocated = true."
  type        = bool
  default     = false
}

variable "hold_expiry_schedule" {
  description = "Cron schedule of the hold-expiry job (unix-cron format). Every minute by default; holds are released within about one period."
  type        = string
  default     = "* * * * *"
}

variable "hold_expiry_time_zone" {
  description = "Time zone the hold-expiry schedule is read in (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

variable "hold_expiry_service_account_id" {
  description = "Account ID (the part before @) of the service account the hold-expiry job's OIDC tokens are minted for."
  type        = string
  default     = "ledger-hold-expiry"
}

variable "session_mode" {
  description = "LEDGER_SESSION_MODE: multiplexed (the Spanner client's default: one session per database role, any number of concurrent transactions) or pooled (a warm pool per instance, sized from concurrency). See docs/OPERATIONS.md, Sessions."
  type        = string
  default     = "multiplexed"

  validation {
    condition     = contains(["pooled", "multiplexed"], var.session_mode)
    error_message = "session_mode must be pooled or multiplexed."
  }
}

variable "page_token_secret_generation" {
  description = "Generation of LEDGER_PAGE_TOKEN_SECRET (secrets.tf): raise it by one to rotate the key that signs page tokens. The new key reaches the service with its next revision; page tokens signed with the old one are then refused (422 invalid_page_token), so callers start those listings again. See docs/DEPLOY.md, \"Secrets and their rotation\"."
  type        = number
  default     = 1

  validation {
    condition     = var.page_token_secret_generation >= 1 && floor(var.page_token_secret_generation) == var.page_token_secret_generation
    error_message = "page_token_secret_generation is a whole number from 1."
  }
}

variable "log_level" {
  description = "LEDGER_LOG_LEVEL of the service."
  type        = string
  default     = "INFO"
}

variable "tracing_enabled" {
  description = "LEDGER_OTEL_ENABLED: export the service's OpenTelemetry traces to Cloud Trace (api/tracing.py)."
  type        = bool
  default     = true
}

variable "trace_sample_ratio" {
  description = "LEDGER_OTEL_SAMPLE_RATIO: the share of requests without a caller's sampling decision that are traced (others follow their caller, as Cloud Run's front end marks them)."
  type        = number
  default     = 0.1

  validation {
    condition     = var.trace_sample_ratio >= 0 && var.trace_sample_ratio <= 1
    error_message = "trace_sample_ratio must be between 0 and 1."
  }
}

# ----------------------------------------------------------------------------------
# Monitoring (monitoring.tf)
# ----------------------------------------------------------------------------------

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channel ids (projects/<p>/notificationChannels/<id>) the alerts go to. Empty: incidents open in the console only."
  type        = list(string)
  default     = []
}

variable "alert_5xx_ratio" {
  description = "Alert when 5xx answers exceed this share of requests for 5 minutes."
  type        = number
  default     = 0.01
}

variable "alert_p99_latency_ms" {
  description = "Alert when the p99 request latency (Cloud Run's front end) exceeds this for 5 minutes."
  type        = number
  default     = 1000
}

variable "alert_spanner_cpu_ratio" {
  description = "Alert when Spanner's high-priority CPU exceeds this share for 10 minutes (Google recommends at most 0.65 on regional instances)."
  type        = number
  default     = 0.65
}

variable "slo_availability_goal" {
  description = "Availability SLO: the share of requests answered without a 5xx over 28 days."
  type        = number
  default     = 0.999
}

variable "slo_latency_goal" {
  description = "Latency SLO: the share of requests answered within slo_latency_threshold_ms over 28 days."
  type        = number
  default     = 0.99
}

variable "slo_latency_threshold_ms" {
  description = "Latency SLO threshold in milliseconds."
  type        = number
  default     = 500
}

# ----------------------------------------------------------------------------------
# Delivery: Cloud Build trigger, GitHub and AWS federation
# ----------------------------------------------------------------------------------

variable "github_owner" {
  description = "GitHub user or organisation that owns the ledger repository (the Cloud Build GitHub app must be installed on it)."
  type        = string
}

variable "github_repository" {
  description = "Name of the ledger's GitHub repository (without the owner)."
  type        = string
}

variable "trigger_branch_regex" {
  description = "Branches whose pushes run both triggers: cloudbuild.yaml (test, build, push) at once, cloudbuild-deploy.yaml (migrate, deploy, smoke test, traffic) after approval."
  type        = string
  default     = "^main$"
}

variable "github_actions_subject_suffix" {
  description = "What follows repo:<owner>/<repository>: in the GitHub Actions OIDC `sub` claim allowed to act as the CI service account (never the runtime one): ref:refs/heads/main (push workflows on main) or environment:<name> (jobs bound to a GitHub environment)."
  type        = string
  default     = "ref:refs/heads/main"

  validation {
    condition     = can(regex("^(ref:refs/(heads|tags)/[^*]+|environment:[^*]+)$", var.github_actions_subject_suffix))
    error_message = "Use ref:refs/heads/<branch>, ref:refs/tags/<tag> or environment:<name>, without wildcards."
  }
}

variable "create_build_trigger" {
  description = "Create the two Cloud Build triggers (build-main on every push, deploy-main after approval). Needs the Cloud Build GitHub app connected to the repository first (see docs/DEPLOY.md); set false to deploy with `gcloud builds submit` only."
  type        = bool
  default     = true
}

variable "deploy_approvers" {
  description = "IAM members who may approve deploy-main builds, and so production migrations and traffic moves (roles/cloudbuild.builds.approver on the project), e.g. [\"group:ledger-releases@example.com\"]. Project Owners can approve too."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.deploy_approvers : !contains(["allUsers", "allAuthenticatedUsers"], m) && can(regex("^(user|group|serviceAccount):", m))])
    error_message = "deploy_approvers are user:, group: or serviceAccount: members; never allUsers or allAuthenticatedUsers."
  }
}

variable "emulator_version" {
  description = "Cloud Spanner emulator image tag the build's test step runs against (_EMULATOR_VERSION in cloudbuild.yaml)."
  type        = string
  default     = "1.5.28"
}

variable "gcloud_emulators_version" {
  description = "Google Cloud CLI version of the image (gcr.io/google.com/cloudsdktool/google-cloud-cli:<version>-emulators) whose Pub/Sub emulator the build's test step runs against (_GCLOUD_EMULATORS_VERSION in cloudbuild.yaml). Google deletes these images a year after their release: keep it recent."
  type        = string
  default     = "592.0.0"
}

variable "aws_account_id" {
  description = "12-digit AWS account whose Lambda runs the ledger (the Lambda path). Empty disables the AWS workload identity provider."
  type        = string
  default     = ""

  validation {
    condition     = var.aws_account_id == "" || can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be empty or a 12-digit AWS account ID."
  }
}

variable "aws_lambda_role_name" {
  description = "Name of the Lambda function's IAM execution role; only sessions of this role may act as the runtime service account."
  type        = string
  default     = ""
}

variable "events_enabled" {
  description = "Run the event pipeline (infra/events.tf): the relay service, the events topic and the webhooks secret."
  type        = bool
  default     = true
}

variable "relay_service_name" {
  description = "Cloud Run service of the event relay."
  type        = string
  default     = "ledger-events"
}

variable "relay_service_account_id" {
  description = "Account id of the relay's service account."
  type        = string
  default     = "ledger-relay"
}

variable "events_topic" {
  description = "Pub/Sub topic the relay publishes events to (ordering key: the account)."
  type        = string
  default     = "ledger-events"
}

variable "events_relay_image" {
  description = "The image the relay service is created with: the ledger image the project's first deploy shipped, by digest (docs/DEPLOY.md, step 4). Empty (the default): no relay service yet - a first apply has neither an image that runs the relay nor its database role (the first deploy's migration creates it). Every later deploy ships the relay (cloudbuild-deploy.yaml); Terraform ignores the image once the service exists."
  type        = string
  default     = ""

  validation {
    condition     = var.events_relay_image == "" || can(regex("@sha256:[0-9a-f]{64}$", var.events_relay_image))
    error_message = "events_relay_image is an image by digest (<repository>/<image>@sha256:...): the one the ledger serves."
  }
}

variable "events_start_at" {
  description = "LEDGER_EVENTS_START_AT of the relay, with LEDGER_EVENTS_ACCEPT_GAP = events_accept_gap: an RFC 3339 instant from which the relay reads the change stream when it refused to start (a first start after the stream's 7-day retention, or down longer than that). Empty (the default): the relay reads from where it must, and refuses a gap. See docs/OPERATIONS.md, \"The relay refused to start\"."
  type        = string
  default     = ""

  validation {
    condition     = var.events_start_at == "" || can(formatdate("YYYY", var.events_start_at))
    error_message = "events_start_at is an RFC 3339 instant, e.g. 2026-12-01T09:58:00Z."
  }
}

variable "events_accept_gap" {
  description = "LEDGER_EVENTS_ACCEPT_GAP: with events_start_at, the relay starts there although events before it will never be relayed (the feed then reports starts_at). Set only together with events_start_at."
  type        = bool
  default     = false

  validation {
    condition     = !var.events_accept_gap || var.events_start_at != ""
    error_message = "events_accept_gap accepts the gap before events_start_at: set both."
  }
}

variable "events_subscriptions" {
  description = "Pull subscriptions on the events topic, one per consuming service: subscription id -> the IAM members that consume it (roles/pubsub.subscriber on that subscription only). Each is ordered (each account's events in commit order), filtered to attributes.primary = \"true\" (each event once), keeps messages 7 days, never expires, and after events_max_delivery_attempts failed deliveries moves a message to the dead-letter topic <events_topic>-dead-letter (kept in its subscription of the same name). Empty (the default): none; docs/EVENTS.md gives the same as commands."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for members in values(var.events_subscriptions) : alltrue([for m in members : !contains(["allUsers", "allAuthenticatedUsers"], m) && can(regex("^(user|group|serviceAccount):", m))])])
    error_message = "Consumers are user:, group: or serviceAccount: members; never allUsers or allAuthenticatedUsers."
  }
}

variable "events_max_delivery_attempts" {
  description = "Deliveries of a message to an events subscription before it goes to the dead-letter topic (Pub/Sub allows 5 to 100)."
  type        = number
  default     = 10

  validation {
    condition     = var.events_max_delivery_attempts >= 5 && var.events_max_delivery_attempts <= 100
    error_message = "events_max_delivery_attempts must be between 5 and 100."
  }
}
