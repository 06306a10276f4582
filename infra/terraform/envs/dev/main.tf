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
  model_backend            = var.model_backend
  dagster_role_names       = var.dagster_role_names
  tags                     = local.tags
}

# Dagster itself: webserver, daemon and code server on ECS Fargate, runs as Fargate tasks, the instance on RDS.
module "dagster" {
  source = "../../modules/dagster"
  count  = var.dagster_hosting ? 1 : 0

  name                              = "${var.name_prefix}-${local.environment}"
  kms_key_arn                       = module.platform.kms_key_arn
  dagster_policy_arn                = module.platform.dagster_policy_arn
  compute_log_bucket                = module.platform.artifacts_bucket
  access_log_bucket                 = module.platform.access_log_bucket
  image_tag                         = var.dagster_image_tag
  ui_allowed_cidrs                  = var.dagster_ui_allowed_cidrs
  certificate_arn                   = var.dagster_certificate_arn
  internal_load_balancer            = var.dagster_internal_load_balancer
  cognito                           = var.dagster_cognito
  oidc                              = var.dagster_oidc
  vpc_id                            = var.dagster_vpc_id
  private_subnet_ids                = var.dagster_private_subnet_ids
  public_subnet_ids                 = var.dagster_public_subnet_ids
  egress                            = var.dagster_egress
  run_start_timeout_seconds         = var.dagster_run_start_timeout_seconds
  model_backend                     = var.model_backend
  db_deletion_protection            = !var.force_destroy
  load_balancer_deletion_protection = !var.force_destroy
  force_destroy                     = var.force_destroy
  tags                              = local.tags

  # The aws deployment's settings, as `favorita aws-settings` writes them from this root's outputs.
  platform_environment = {
    FAVORITA_AWS_REGION            = var.region
    FAVORITA_RAW_BUCKET            = module.platform.raw_bucket
    FAVORITA_PROCESSED_BUCKET      = module.platform.processed_bucket
    FAVORITA_ARTIFACTS_BUCKET      = module.platform.artifacts_bucket
    FAVORITA_KMS_KEY_ARN           = module.platform.kms_key_arn
    FAVORITA_GLUE_JOB_NAME         = module.platform.glue_job_name
    FAVORITA_SAGEMAKER_ROLE_ARN    = module.platform.sagemaker_execution_role_arn
    FAVORITA_SAGEMAKER_NAME_PREFIX = module.platform.sagemaker_name_prefix
    FAVORITA_MODEL_PACKAGE_GROUP   = module.platform.model_package_group_name
    FAVORITA_MODEL_BACKEND         = module.platform.model_backend
    FAVORITA_FORECAST_ROLE_ARN     = module.platform.forecast_role_arn
    FAVORITA_EVENT_QUEUE_URL       = module.platform.event_queue_url
    FAVORITA_ALERTS_TOPIC_ARN      = module.platform.alerts_topic_arn
    FAVORITA_RAW_SOURCE            = "landing"
  }
}

# QuickSight over the Athena tables, for planners: off by default (it needs an account subscription).
module "quicksight" {
  source = "../../modules/quicksight"
  count  = var.quicksight_enabled ? 1 : 0

  name_prefix         = "${var.name_prefix}-${local.environment}"
  athena_workgroup    = module.platform.athena_workgroup
  glue_database       = module.platform.glue_database_name
  forecasts_table     = module.platform.forecasts_table_name
  replenishment_table = module.platform.replenishment_plan_table_name
  principal_arn       = var.quicksight_principal_arn
  artifacts_bucket    = module.platform.artifacts_bucket
  kms_key_arn         = module.platform.kms_key_arn
  tags                = local.tags
}
