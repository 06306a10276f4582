output "ui_url" {
  description = "URL of the Dagster UI (FAVORITA_DAGSTER_URL: the links in alerts point here)."
  value       = local.ui_url
}

output "ui_internal" {
  description = "Whether the UI's load balancer is internal (reach it over a VPN or peering into the VPC) or internet-facing."
  value       = local.internal_load_balancer
}

output "ecr_repository_url" {
  description = "ECR repository of the code-location image; the deploy pushes <url>:<git sha>."
  value       = aws_ecr_repository.this.repository_url
}

output "image" {
  description = "The image every Dagster task runs now."
  value       = local.image
}

output "cluster_name" {
  description = "ECS cluster of the Dagster services and runs."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_names" {
  description = "ECS services by role: webserver, daemon, code_server."
  value       = { for role, service in aws_ecs_service.this : role => service.name }
}

output "task_definition_arns" {
  description = "Task definitions (with revision) by role: webserver, daemon, code_server, run."
  value       = { for k, v in aws_ecs_task_definition.this : k => v.arn }
}

output "run_task_definition_family" {
  description = "The one task-definition family the run launcher starts (and may start)."
  value       = local.families.run
}

output "run_subnet_ids" {
  description = "Private subnets of the run tasks."
  value       = local.private_subnet_ids
}

output "run_security_group_id" {
  description = "Security group of the run tasks."
  value       = aws_security_group.run.id
}

output "task_role_arns" {
  description = "Task roles by role: webserver, daemon, code_server, run."
  value       = { for k, v in aws_iam_role.task : k => v.arn }
}

output "execution_role_arn" {
  description = "Execution role of every Dagster task (image pull, logs, the database secret)."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the services and runs (streams webserver/, daemon/, code-server/, run/)."
  value       = aws_cloudwatch_log_group.this.name
}

output "database_endpoint" {
  description = "host:port of the Dagster PostgreSQL (private)."
  value       = aws_db_instance.this.endpoint
}

output "database_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS keeps the master password in (rotate it there)."
  value       = local.db_secret_arn
}

output "vpc_id" {
  description = "VPC of the Dagster tasks."
  value       = local.vpc_id
}

output "code_server_address" {
  description = "host:port of the code server inside the VPC (Cloud Map)."
  value       = "${local.code_server_host}:${local.code_server_port}"
}
