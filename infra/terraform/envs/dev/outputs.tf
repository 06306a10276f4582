# Every output the Dagster aws deployment reads: `terraform output -json | favorita aws-settings > .env` (README "Deploy to AWS").

output "region" {
  description = "AWS region of the stack (FAVORITA_AWS_REGION)."
  value       = var.region
}

output "raw_bucket" {
  description = "Raw bucket (FAVORITA_RAW_BUCKET)."
  value       = module.platform.raw_bucket
}

output "processed_bucket" {
  description = "Processed bucket (FAVORITA_PROCESSED_BUCKET)."
  value       = module.platform.processed_bucket
}

output "artifacts_bucket" {
  description = "Artifacts bucket (FAVORITA_ARTIFACTS_BUCKET)."
  value       = module.platform.artifacts_bucket
}

output "access_log_bucket" {
  description = "Bucket receiving S3 server access logs."
  value       = module.platform.access_log_bucket
}

output "kms_key_arn" {
  description = "KMS key for server-side encryption (FAVORITA_KMS_KEY_ARN)."
  value       = module.platform.kms_key_arn
}

output "glue_job_name" {
  description = "Glue cleaning job (FAVORITA_GLUE_JOB_NAME)."
  value       = module.platform.glue_job_name
}

output "glue_database_name" {
  description = "Glue Data Catalog database of the forecasts table."
  value       = module.platform.glue_database_name
}

output "forecasts_table_name" {
  description = "Glue Data Catalog table over the forecasts, for Athena and QuickSight."
  value       = module.platform.forecasts_table_name
}

output "athena_workgroup" {
  description = "Athena workgroup for queries over the forecasts."
  value       = module.platform.athena_workgroup
}

output "sagemaker_execution_role_arn" {
  description = "SageMaker execution role (FAVORITA_SAGEMAKER_ROLE_ARN)."
  value       = module.platform.sagemaker_execution_role_arn
}

output "sagemaker_name_prefix" {
  description = "Start of SageMaker job, model and endpoint names (FAVORITA_SAGEMAKER_NAME_PREFIX)."
  value       = module.platform.sagemaker_name_prefix
}

output "model_package_group_name" {
  description = "SageMaker model registry group."
  value       = module.platform.model_package_group_name
}

output "event_queue_url" {
  description = "SQS queue the Dagster sensor reads."
  value       = module.platform.event_queue_url
}

output "dead_letter_queue_url" {
  description = "Dead-letter queue of the event queue."
  value       = module.platform.dead_letter_queue_url
}

output "alerts_topic_arn" {
  description = "SNS topic for failure and low-stock alerts."
  value       = module.platform.alerts_topic_arn
}

output "schedule_name" {
  description = "EventBridge Scheduler schedule of the monthly retrain."
  value       = module.platform.schedule_name
}

output "rule_names" {
  description = "EventBridge rules feeding the event queue."
  value       = module.platform.rule_names
}

output "dagster_policy_arn" {
  description = "IAM policy to attach to whatever runs Dagster."
  value       = module.platform.dagster_policy_arn
}
