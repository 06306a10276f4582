# Development: disposable (buckets may be destroyed with their objects). Another environment: copy this folder,
# change local.environment, and default force_destroy to false.

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

locals {
  environment = "dev"
  tags = merge(var.tags, {
    project     = "favorita-forecast"
    environment = local.environment
    managed-by  = "terraform"
  })
}

module "platform" {
  source = "../../modules/platform"

  name                     = "${var.name_prefix}-${local.environment}"
  glue_package_dir         = coalesce(var.glue_package_dir, "${path.root}/../../../../dist/glue")
  bucket_suffix            = var.bucket_suffix
  force_destroy            = var.force_destroy
  enforce_secure_transport = var.enforce_secure_transport
  glue_number_of_workers   = var.glue_number_of_workers
  schedule_enabled         = var.schedule_enabled
  alert_emails             = var.alert_emails
  dagster_role_names       = var.dagster_role_names
  tags                     = local.tags
}
