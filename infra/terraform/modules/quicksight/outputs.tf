output "data_source_arn" {
  description = "The Athena data source"
  value       = aws_quicksight_data_source.athena.arn
}

output "data_set_arns" {
  description = "The data sets: forecasts and replenishment_plan"
  value = {
    forecasts          = aws_quicksight_data_set.forecasts.arn
    replenishment_plan = aws_quicksight_data_set.replenishment_plan.arn
  }
}

output "dashboard_id" {
  description = "The planner dashboard (QuickSight console: Dashboards)"
  value       = aws_quicksight_dashboard.planner.dashboard_id
}
