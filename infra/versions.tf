terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.11.0, < 7.0.0" # 6.11: google_spanner_instance.default_backup_schedule_type
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
