# Workload identity federation: two places outside Google Cloud get a Google identity
# without a key file.
#
#   GitHub Actions  only workflows of var.github_owner/var.github_repository, as the CI
#                   account ledger-ci, which holds no data access (iam.tf). Never as the
#                   runtime account: a workflow on main could otherwise write Entries
#                   and Transfers straight into Spanner, past every rule of the ledger.
#   AWS Lambda      only sessions of the Lambda's execution role in var.aws_account_id,
#                   as the runtime account: that Lambda *is* the ledger (main.handler).
#
# Each is bound with roles/iam.workloadIdentityUser for exactly that principal set -
# never the whole pool.

resource "google_iam_workload_identity_pool" "ledger" {
  project                   = var.project_id
  workload_identity_pool_id = "${var.service_name}-pool"
  display_name              = "ledger federation"
  description               = "GitHub Actions (as the CI account) and AWS Lambda (as the ledger runtime account)."

  depends_on = [
    google_project_service.enabled["iam.googleapis.com"],
    google_project_service.enabled["sts.googleapis.com"],
  ]
}

# ----------------------------------------------------------------------------------
# GitHub Actions
# ----------------------------------------------------------------------------------

locals {
  github_repository_full_name = "${var.github_owner}/${var.github_repository}"
}

resource "google_iam_workload_identity_pool_provider" "github" {
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.ledger.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-actions"
  display_name                       = "GitHub Actions"
  description                        = "OIDC tokens of GitHub Actions workflows in ${local.github_repository_full_name} only."

  attribute_mapping = {
    "google.subject"             = "assertion.sub"
    "attribute.repository"       = "assertion.repository"
    "attribute.repository_owner" = "assertion.repository_owner"
    "attribute.ref"              = "assertion.ref"
  }

  # Tokens from any other repository - or from this repository's other branches, pull
  # requests and forks - are rejected at the token exchange.
  # (`sub` is repo:OWNER/REPO:ref:refs/heads/main for a push workflow on main, or
  # repo:OWNER/REPO:environment:NAME for a job bound to a GitHub environment.)
  attribute_condition = "assertion.repository == '${var.github_owner}/${var.github_repository}' && assertion.sub == 'repo:${var.github_owner}/${var.github_repository}:${var.github_actions_subject_suffix}'"

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account_iam_member" "github_acts_as_ci" {
  service_account_id = google_service_account.ci.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.ledger.name}/attribute.repository/${local.github_repository_full_name}"
}

# ----------------------------------------------------------------------------------
# AWS Lambda (created only when var.aws_account_id is set)
# ----------------------------------------------------------------------------------

locals {
  aws_enabled = var.aws_account_id != ""
  # The role a Lambda's credentials carry, as the mapping below extracts it.
  aws_lambda_role = "arn:aws:sts::${var.aws_account_id}:assumed-role/${var.aws_lambda_role_name}"
}

resource "google_iam_workload_identity_pool_provider" "aws" {
  #checkov:skip=CKV_GCP_125:GitHub-OIDC check that does not apply to an aws {} provider (it fails any provider without an oidc block); this one is restricted to one IAM role by attribute_condition.
  count = local.aws_enabled ? 1 : 0

  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.ledger.workload_identity_pool_id
  workload_identity_pool_provider_id = "aws-lambda"
  display_name                       = "AWS Lambda"
  description                        = "The ledger's Lambda execution role in AWS account ${var.aws_account_id} only."

  attribute_mapping = {
    "google.subject"        = "assertion.arn"
    "attribute.aws_account" = "assertion.account"
    # arn:aws:sts::<account>:assumed-role/<role>/<session> -> ...:assumed-role/<role>
    "attribute.aws_role" = "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn"
  }

  attribute_condition = "attribute.aws_role == '${local.aws_lambda_role}'"

  aws {
    account_id = var.aws_account_id
  }

  lifecycle {
    precondition {
      condition     = var.aws_lambda_role_name != ""
      error_message = "aws_lambda_role_name is required when aws_account_id is set."
    }
  }
}

resource "google_service_account_iam_member" "aws_lambda_acts_as_runtime" {
  count = local.aws_enabled ? 1 : 0

  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.ledger.name}/attribute.aws_role/${local.aws_lambda_role}"

  depends_on = [google_iam_workload_identity_pool_provider.aws]
}
