# The whole Favorita platform for one environment: storage, IAM, ETL, training and scheduling wired together.
# Each environment root (envs/<env>) calls this module once with its own settings.

locals {
  glue_job_name            = "${var.name}-clean-series"
  glue_log_group_name      = "/aws-glue/${var.name}"
  sagemaker_name_prefix    = var.name
  model_package_group_name = "${var.name}-deepar"
  # Amazon Forecast names take no hyphen; the backend spells the same prefix with _ (favorita-dev -> favorita_dev_...).
  forecast_name_prefix = replace(var.name, "-", "_")
}

module "storage" {
  source = "../storage"

  name                               = var.name
  bucket_suffix                      = var.bucket_suffix
  force_destroy                      = var.force_destroy
  enforce_secure_transport           = var.enforce_secure_transport
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  training_channel_expiration_days   = var.training_channel_expiration_days
  tags                               = var.tags
}

module "iam" {
  source = "../iam"

  name                     = var.name
  bucket_arns              = module.storage.bucket_arns
  kms_key_arn              = module.storage.kms_key_arn
  glue_job_name            = local.glue_job_name
  glue_log_group_names     = module.etl.log_group_names
  sagemaker_name_prefix    = local.sagemaker_name_prefix
  forecast_enabled         = var.model_backend == "amazon-forecast"
  forecast_name_prefix     = local.forecast_name_prefix
  model_package_group_name = local.model_package_group_name
  model_package_group_arn  = module.training.model_package_group_arn
  event_queue_arn          = module.scheduling.event_queue_arn
  scheduler_queue_arns     = [module.scheduling.event_queue_arn, module.scheduling.dead_letter_queue_arn]
  alerts_topic_arn         = module.scheduling.alerts_topic_arn
  dagster_role_names       = var.dagster_role_names
  tags                     = var.tags
}

module "etl" {
  source = "../etl"

  name              = var.name
  job_name          = local.glue_job_name
  glue_role_arn     = module.iam.glue_role_arn
  artifacts_bucket  = module.storage.artifacts_bucket
  kms_key_arn       = module.storage.kms_key_arn
  glue_script_path  = "${var.glue_package_dir}/clean_series_job.py"
  glue_package_path = "${var.glue_package_dir}/favorita_core.zip"
  number_of_workers = var.glue_number_of_workers
  log_group_name    = local.glue_log_group_name
  tags              = var.tags
}

module "training" {
  source = "../training"

  model_package_group_name = local.model_package_group_name
  tags                     = var.tags
}

module "scheduling" {
  source = "../scheduling"

  name                  = var.name
  raw_bucket            = module.storage.raw_bucket
  landing_prefix        = var.landing_prefix
  sagemaker_name_prefix = local.sagemaker_name_prefix
  scheduler_role_arn    = module.iam.scheduler_role_arn
  kms_key_arn           = module.storage.kms_key_arn
  schedule_enabled      = var.schedule_enabled
  alert_emails          = var.alert_emails
  tags                  = var.tags
}
