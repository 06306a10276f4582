# The names marked (FAVORITA_...) are read by the Dagster aws deployment: `favorita aws-settings` turns
# `terraform output -json` into those environment variables (favorita_assets/settings.py, AWS_SETTINGS).

output "raw_bucket" {
  description = "Raw bucket (FAVORITA_RAW_BUCKET)."
  value       = module.storage.raw_bucket
}

output "processed_bucket" {
  description = "Processed bucket (FAVORITA_PROCESSED_BUCKET)."
  value       = module.storage.processed_bucket
}

output "artifacts_bucket" {
  description = "Artifacts bucket (FAVORITA_ARTIFACTS_BUCKET)."
  value       = module.storage.artifacts_bucket
}

output "access_log_bucket" {
  description = "Bucket receiving S3 server access logs."
  value       = module.storage.access_log_bucket
}

output "kms_key_arn" {
  description = "KMS key for server-side encryption (FAVORITA_KMS_KEY_ARN)."
  value       = module.storage.kms_key_arn
}

output "glue_log_group_names" {
  description = "CloudWatch log groups of the Glue job (its driver's and executors' logs in /error, print output in /output)."
  value       = module.etl.log_group_names
}

output "glue_job_name" {
  description = "Glue cleaning job (FAVORITA_GLUE_JOB_NAME)."
  value       = module.etl.glue_job_name
}

output "glue_database_name" {
  description = "Glue Data Catalog database of the forecasts table."
  value       = module.etl.glue_database_name
}

output "forecasts_table_name" {
  description = "Glue Data Catalog table over the forecasts, for Athena and QuickSight."
  value       = module.etl.forecasts_table_name
}

output "athena_workgroup" {
  description = "Athena workgroup for queries over the forecasts."
  value       = module.etl.athena_workgroup
}

output "sagemaker_execution_role_arn" {
  description = "SageMaker execution role (FAVORITA_SAGEMAKER_ROLE_ARN)."
  value       = module.iam.sagemaker_execution_role_arn
}

output "sagemaker_name_prefix" {
  description = "Start of SageMaker job, model and endpoint names (FAVORITA_SAGEMAKER_NAME_PREFIX)."
  value       = local.sagemaker_name_prefix
}

output "model_backend" {
  description = "Who trains and forecasts (FAVORITA_MODEL_BACKEND)."
  value       = var.model_backend
}

output "forecast_role_arn" {
  description = "Amazon Forecast's role (FAVORITA_FORECAST_ROLE_ARN); empty with the sagemaker-deepar backend."
  value       = module.iam.forecast_role_arn
}

output "model_package_group_name" {
  description = "SageMaker model registry group."
  value       = module.training.model_package_group_name
}

output "event_queue_url" {
  description = "SQS queue the Dagster sensor reads."
  value       = module.scheduling.event_queue_url
}

output "dead_letter_queue_url" {
  description = "Dead-letter queue of the event queue."
  value       = module.scheduling.dead_letter_queue_url
}

output "alerts_topic_arn" {
  description = "SNS topic for failure and low-stock alerts."
  value       = module.scheduling.alerts_topic_arn
}

output "schedule_name" {
  description = "EventBridge Scheduler schedule of the monthly retrain."
  value       = module.scheduling.schedule_name
}

output "rule_names" {
  description = "EventBridge rules feeding the event queue."
  value       = module.scheduling.rule_names
}

output "dagster_policy_arn" {
  description = "IAM policy to attach to whatever runs Dagster."
  value       = module.iam.dagster_policy_arn
}

output "replenishment_plan_table_name" {
  description = "Glue/Athena table over the replenishment plans"
  value       = module.etl.replenishment_plan_table_name
}
