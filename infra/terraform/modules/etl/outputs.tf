output "glue_job_name" {
  description = "Name of the Glue cleaning job (FAVORITA_GLUE_JOB_NAME)."
  value       = aws_glue_job.clean_series.name
}

output "glue_job_arn" {
  description = "ARN of the Glue cleaning job."
  value       = aws_glue_job.clean_series.arn
}

output "glue_database_name" {
  description = "Glue Data Catalog database holding the forecasts table."
  value       = aws_glue_catalog_database.this.name
}

output "forecasts_table_name" {
  description = "Glue Data Catalog table over the forecasts (query it in Athena as <database>.<table>)."
  value       = aws_glue_catalog_table.forecasts.name
}

output "athena_workgroup" {
  description = "Athena workgroup for queries over the forecasts."
  value       = aws_athena_workgroup.this.name
}

output "log_group_names" {
  description = "CloudWatch log groups the Glue job writes to (<prefix>/output and /error; with the security configuration, <prefix>-<role>-<configuration>/output and /error)."
  value       = [for key in ["output", "error", "encrypted_output", "encrypted_error"] : aws_cloudwatch_log_group.glue[key].name]
}

output "forecast_totals_table_name" {
  description = "Glue Data Catalog table over the forecast totals (all stores, per store, per family)."
  value       = aws_glue_catalog_table.forecast_totals.name
}

output "replenishment_plan_table_name" {
  description = "Glue/Athena table over the replenishment plans (replenishment_plan/cutoff_month=YYYY-MM/plan.parquet)"
  value       = aws_glue_catalog_table.replenishment_plan.name
}
