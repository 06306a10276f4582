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

output "glue_log_group_names" {
  description = "CloudWatch log groups of the Glue job (its driver's and executors' logs in /error, print output in /output)."
  value       = module.platform.glue_log_group_names
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

output "model_backend" {
  description = "Who trains and forecasts (FAVORITA_MODEL_BACKEND)."
  value       = module.platform.model_backend
}

output "forecast_role_arn" {
  description = "Amazon Forecast's role (FAVORITA_FORECAST_ROLE_ARN); empty with the sagemaker-deepar backend."
  value       = module.platform.forecast_role_arn
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

output "dagster_ui_url" {
  description = "URL of the Dagster UI (FAVORITA_DAGSTER_URL); null without dagster_hosting."
  value       = one(module.dagster[*].ui_url)
}

output "dagster_ui_internal" {
  description = "Whether the Dagster UI's load balancer is internal (reached over a VPN or peering) or internet-facing; null without dagster_hosting."
  value       = one(module.dagster[*].ui_internal)
}

output "dagster_ecr_repository_url" {
  description = "ECR repository the deploy pushes the code-location image to."
  value       = one(module.dagster[*].ecr_repository_url)
}

output "dagster_cluster_name" {
  description = "ECS cluster of the Dagster services and runs."
  value       = one(module.dagster[*].cluster_name)
}

output "dagster_service_names" {
  description = "ECS services of the webserver, daemon and code server."
  value       = one(module.dagster[*].service_names)
}

output "dagster_run_launcher" {
  description = "What the run launcher starts each run with: cluster, task definition family, subnets, security group, roles."
  value = var.dagster_hosting ? {
    cluster            = module.dagster[0].cluster_name
    task_definition    = module.dagster[0].run_task_definition_family
    subnets            = module.dagster[0].run_subnet_ids
    security_group     = module.dagster[0].run_security_group_id
    task_role_arn      = module.dagster[0].task_role_arns["run"]
    execution_role_arn = module.dagster[0].execution_role_arn
    log_group          = module.dagster[0].log_group_name
  } : null
}

output "dagster_database_secret_arn" {
  description = "Secrets Manager secret with the Dagster database's master password (RDS-managed; rotate it there)."
  value       = one(module.dagster[*].database_secret_arn)
}

output "quicksight_dashboard_id" {
  description = "The planner dashboard in QuickSight (null unless quicksight_enabled)"
  value       = one(module.quicksight[*].dashboard_id)
}
