terraform {
  # 1.11: write-only arguments (secrets.tf: the page-token key never reaches the state).
  required_version = ">= 1.11.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.11: google_spanner_instance.default_backup_schedule_type;
      # 6.23: google_secret_manager_secret_version.secret_data_wo
      version = ">= 6.23.0, < 7.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.7.1, < 4.0.0" # 3.7.1: the ephemeral random_password
    }
  }

  # State holds no secrets here (no keys are ever created), but it does hold the
  # project's layout: keep it in a bucket, e.g.
  #   terraform init -backend-config="bucket=MY_STATE_BUCKET" -backend-config="prefix=ledger"
  # with `backend "gcs" {}` added below. Local state is the default so that a first
  # `terraform apply` in an empty project needs nothing else.
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app        = "spanner-ledger"
    managed-by = "terraform"
  }
}

data "google_project" "this" {
  project_id = var.project_id
}
