output "event_queue_url" {
  description = "URL of the SQS queue the Dagster sensor reads."
  value       = aws_sqs_queue.events.url
}

output "event_queue_arn" {
  description = "ARN of the SQS queue the Dagster sensor reads."
  value       = aws_sqs_queue.events.arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.url
}

output "alerts_topic_arn" {
  description = "ARN of the SNS topic for failure and low-stock alerts."
  value       = aws_sns_topic.alerts.arn
}

output "schedule_name" {
  description = "Name of the monthly retrain schedule."
  value       = aws_scheduler_schedule.monthly_retrain.name
}

output "rule_names" {
  description = "Names of the EventBridge rules, by purpose."
  value       = { for key, rule in aws_cloudwatch_event_rule.this : key => rule.name }
}
