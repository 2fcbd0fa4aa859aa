# What tells the on-call that the ledger is unwell, from Google's own metrics (nothing
# the app must export): Cloud Run's request_count and request_latencies, measured at
# Cloud Run's front end (so they include the requests the app never saw), and Spanner's
# CPU by priority.
#
#   alerts     5xx ratio, p99 latency, Spanner high-priority CPU, and the availability
#              SLO burning fast
#   SLOs       availability (not 5xx) and latency (under slo_latency_threshold_ms), 28 days
#   dashboard  the same signals side by side
#
# Thresholds are variables (variables.tf); the defaults and why: docs/OPERATIONS.md,
# "Monitoring".

locals {
  run_filter = join(" AND ", [
    "resource.type = \"cloud_run_revision\"",
    "resource.labels.service_name = \"${var.service_name}\"",
  ])
  requests       = "metric.type = \"run.googleapis.com/request_count\" AND ${local.run_filter}"
  server_errors  = "${local.requests} AND metric.labels.response_code_class = \"5xx\""
  latencies      = "metric.type = \"run.googleapis.com/request_latencies\" AND ${local.run_filter}"
  spanner_filter = "resource.type = \"spanner_instance\" AND resource.labels.instance_id = \"${google_spanner_instance.ledger.name}\""
  spanner_cpu_hi = "metric.type = \"spanner.googleapis.com/instance/cpu/utilization_by_priority\" AND metric.labels.priority = \"high\" AND ${local.spanner_filter}"
}

resource "google_monitoring_alert_policy" "server_errors" {
  project      = var.project_id
  display_name = "ledger: 5xx above ${var.alert_5xx_ratio * 100}% of requests"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "5xx / all requests, 5 minutes"
    condition_threshold {
      filter             = local.server_errors
      denominator_filter = local.requests
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_5xx_ratio
      duration           = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      # No traffic is no error: an idle service does not page.
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "5xx from the ledger. 503 problem+json with code backend_unavailable: Spanner trouble (outcome unknown; callers retry). 500 internal_error: a bug or a permission misconfiguration (the log line names it). Google's HTML 5xx: Cloud Run itself. See docs/OPERATIONS.md, Monitoring."
  }

  notification_channels = var.alert_notification_channels

  depends_on = [google_project_service.enabled["monitoring.googleapis.com"]]
}

resource "google_monitoring_alert_policy" "latency" {
  project      = var.project_id
  display_name = "ledger: p99 latency above ${var.alert_p99_latency_ms} ms"
  combiner     = "OR"
  severity     = "WARNING"

  conditions {
    display_name = "p99 request latency, 5 minutes"
    condition_threshold {
      filter          = local.latencies
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_p99_latency_ms
      duration        = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
      }
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Slow ledger requests. Look at the Spanner CPU chart and the request log's spanner.seconds (the time spent in Spanner per request). See docs/OPERATIONS.md, Monitoring."
  }

  notification_channels = var.alert_notification_channels

  depends_on = [google_project_service.enabled["monitoring.googleapis.com"]]
}

resource "google_monitoring_alert_policy" "spanner_cpu" {
  project      = var.project_id
  display_name = "ledger: Spanner high-priority CPU above ${var.alert_spanner_cpu_ratio * 100}%"
  combiner     = "OR"
  severity     = "WARNING"

  conditions {
    display_name = "high-priority CPU (user and system), 10 minutes"
    condition_threshold {
      filter          = local.spanner_cpu_hi
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_spanner_cpu_ratio
      duration        = "600s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MEAN"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.instance_id"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Spanner's high-priority CPU is near what the instance can serve with headroom for a zone failure (Google recommends at most 65% on a regional instance). Add processing units (spanner_processing_units) before latency follows. See docs/OPERATIONS.md, Monitoring."
  }

  notification_channels = var.alert_notification_channels

  depends_on = [google_project_service.enabled["monitoring.googleapis.com"]]
}

# The service as Service Monitoring sees it, and its two objectives.
resource "google_monitoring_custom_service" "ledger" {
  project      = var.project_id
  service_id   = "${var.service_name}-api"
  display_name = "ledger API (Cloud Run ${var.service_name})"

  depends_on = [google_project_service.enabled["monitoring.googleapis.com"]]
}

resource "google_monitoring_slo" "availability" {
  project             = var.project_id
  service             = google_monitoring_custom_service.ledger.service_id
  slo_id              = "availability"
  display_name        = "${var.slo_availability_goal * 100}% of requests answered without a 5xx, 28 days"
  goal                = var.slo_availability_goal
  rolling_period_days = 28

  request_based_sli {
    good_total_ratio {
      bad_service_filter   = local.server_errors
      total_service_filter = local.requests
    }
  }
}

resource "google_monitoring_slo" "latency" {
  project             = var.project_id
  service             = google_monitoring_custom_service.ledger.service_id
  slo_id              = "latency"
  display_name        = "${var.slo_latency_goal * 100}% of requests within ${var.slo_latency_threshold_ms} ms, 28 days"
  goal                = var.slo_latency_goal
  rolling_period_days = 28

  request_based_sli {
    distribution_cut {
      distribution_filter = local.latencies
      range {
        max = var.slo_latency_threshold_ms
      }
    }
  }
}

# Burning the month's error budget 10x too fast, over an hour: an outage, not noise.
resource "google_monitoring_alert_policy" "availability_burn" {
  project      = var.project_id
  display_name = "ledger: availability SLO burning 10x"
  combiner     = "OR"
  severity     = "CRITICAL"

  conditions {
    display_name = "burn rate over 1 hour"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${google_monitoring_slo.availability.id}\", \"3600s\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 10
      duration        = "0s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The availability SLO's error budget is being spent 10x faster than 28 days allow. See docs/OPERATIONS.md, Monitoring."
  }

  notification_channels = var.alert_notification_channels
}

resource "google_monitoring_dashboard" "ledger" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "ledger"
    mosaicLayout = {
      columns = 12
      tiles = [
        for i, chart in [
          { title = "Requests/s by response class", filter = local.requests, aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", by = ["metric.label.response_code_class"] },
          { title = "Request latency p99 (ms)", filter = local.latencies, aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_99", by = [] },
          { title = "Spanner CPU by priority", filter = "metric.type = \"spanner.googleapis.com/instance/cpu/utilization_by_priority\" AND ${local.spanner_filter}", aligner = "ALIGN_MEAN", reducer = "REDUCE_SUM", by = ["metric.label.priority"] },
          { title = "Cloud Run instances", filter = "metric.type = \"run.googleapis.com/container/instance_count\" AND ${local.run_filter}", aligner = "ALIGN_MAX", reducer = "REDUCE_SUM", by = ["metric.label.state"] },
          { title = "Spanner API latency by method (ms)", filter = "metric.type = \"spanner.googleapis.com/api/request_latencies\" AND ${local.spanner_filter}", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_99", by = ["metric.label.method"] },
          { title = "Container CPU utilization", filter = "metric.type = \"run.googleapis.com/container/cpu/utilizations\" AND ${local.run_filter}", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_99", by = [] },
          ] : {
          xPos   = (i % 2) * 6
          yPos   = floor(i / 2) * 4
          width  = 6
          height = 4
          widget = {
            title = chart.title
            xyChart = {
              dataSets = [{
                plotType = "LINE"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = chart.filter
                    aggregation = {
                      alignmentPeriod    = "60s"
                      perSeriesAligner   = chart.aligner
                      crossSeriesReducer = chart.reducer
                      groupByFields      = chart.by
                    }
                  }
                }
              }]
            }
          }
        }
      ]
    }
  })

  depends_on = [google_project_service.enabled["monitoring.googleapis.com"]]
}

# The event relay refuses to start rather than skip events it can no longer read: on a
# first start after the change stream's 7-day retention, or after being down longer than
# that. It logs one ERROR line whose message begins "events relay refused:" and exits 3;
# Cloud Run restarts it, and it refuses again, so this fires until someone decides
# (docs/OPERATIONS.md, "The relay refused to start").
locals {
  relay_refused_filter = join(" AND ", [
    "resource.type = \"cloud_run_revision\"",
    "resource.labels.service_name = \"${var.relay_service_name}\"",
    "severity = ERROR",
    "jsonPayload.message =~ \"^events relay refused:\"",
  ])
}

resource "google_logging_metric" "relay_refused" {
  count = var.events_enabled ? 1 : 0

  project     = var.project_id
  name        = "${var.relay_service_name}-refused"
  description = "Starts of the event relay that refused to skip events (a gap past the change stream's retention)."
  filter      = local.relay_refused_filter

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.enabled["logging.googleapis.com"]]
}

resource "google_monitoring_alert_policy" "relay_refused" {
  count = var.events_enabled ? 1 : 0

  project      = var.project_id
  display_name = "ledger: the event relay refused to start"
  combiner     = "OR"
  severity     = "CRITICAL"

  conditions {
    display_name = "events relay refused (log lines), 5 minutes"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.relay_refused[0].name}\" AND resource.type = \"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The event relay (Cloud Run ${var.relay_service_name}) will not start: the change stream no longer holds where it must resume (first start more than 7 days after the stream was created, or down for longer), so events would be lost silently. No event is relayed, delivered or added to the feed until an operator accepts the gap: events_start_at and events_accept_gap = true in Terraform (LEDGER_EVENTS_START_AT, LEDGER_EVENTS_ACCEPT_GAP). The log line says where it had to start. See docs/OPERATIONS.md, \"The relay refused to start\"."
  }

  notification_channels = var.alert_notification_channels

  depends_on = [google_project_service.enabled["monitoring.googleapis.com"]]
}
