output "glue_role_arn" {
  description = "ARN of the Glue job's role."
  value       = aws_iam_role.glue.arn
}

output "sagemaker_execution_role_arn" {
  description = "ARN of the SageMaker execution role (FAVORITA_SAGEMAKER_ROLE_ARN)."
  value       = aws_iam_role.sagemaker.arn
}

output "forecast_role_arn" {
  description = "ARN of the Amazon Forecast role (FAVORITA_FORECAST_ROLE_ARN); empty unless forecast_enabled."
  value       = var.forecast_enabled ? aws_iam_role.forecast[0].arn : ""
}

output "scheduler_role_arn" {
  description = "ARN of the EventBridge Scheduler role."
  value       = aws_iam_role.scheduler.arn
}

output "dagster_policy_arn" {
  description = "ARN of the policy to attach to whatever runs Dagster."
  value       = aws_iam_policy.dagster.arn
}
