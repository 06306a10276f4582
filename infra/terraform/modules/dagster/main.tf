# Dagster itself on AWS: the webserver behind a load balancer, the daemon (exactly one) and the code server as ECS
# Fargate services, every run its own Fargate task (EcsRunLauncher), the instance in RDS PostgreSQL. One image for
# all of them, from the ECR repository made here; the instance configuration is infra/dagster/dagster-ecs.yaml inside
# it. Network, database, services and load balancer are in the other files of this module.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  image = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"

  # ECS task-definition families: the three services' and the one every run uses (the run launcher may start only it).
  families = {
    webserver   = "${var.name}-webserver"
    daemon      = "${var.name}-daemon"
    code_server = "${var.name}-code-server"
    run         = "${var.name}-run"
  }
  code_server_port = 4000
  webserver_port   = 3000
  code_server_host = "code-server.${aws_service_discovery_private_dns_namespace.this.name}"
  log_group_name   = "/ecs/${var.name}-dagster"
}

################################################################################
# Image repository
################################################################################

resource "aws_ecr_repository" "this" {
  name                 = "${var.name}-dagster"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_destroy
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Untagged layers of interrupted pushes go after a day"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 1 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest 30 deployed images: rollback reaches back 30 deploys"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }
        action       = { type = "expire" }
      },
    ]
  })
}

################################################################################
# Cluster and logs
################################################################################

resource "aws_ecs_cluster" "this" {
  name = "${var.name}-dagster"
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

################################################################################
# Service discovery: the code server's name inside the VPC
################################################################################

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = "${var.name}.dagster.internal"
  description = "Private names of the ${var.name} Dagster services"
  vpc         = local.vpc_id
  tags        = var.tags
}

resource "aws_service_discovery_service" "code_server" {
  name = "code-server"
  tags = var.tags

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}
