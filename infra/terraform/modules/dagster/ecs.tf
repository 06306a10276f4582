# The task definitions and services. Every container runs the same image with the ECS instance configuration
# (DAGSTER_HOME=/opt/dagster/ecs: PostgreSQL storage, QueuedRunCoordinator, EcsRunLauncher, S3 compute logs); they
# differ in their command, their role and their size. Root filesystems are read-only: /tmp and /opt/dagster/var are
# the task's own ephemeral storage.

locals {
  ui_url = var.certificate_arn == null ? "http://${aws_lb.this.dns_name}" : "https://${aws_lb.this.dns_name}"

  environment = merge(var.platform_environment, {
    AWS_REGION                  = local.region
    AWS_DEFAULT_REGION          = local.region
    DAGSTER_HOME                = "/opt/dagster/ecs"
    DAGSTER_PG_HOST             = aws_db_instance.this.address
    DAGSTER_PG_PORT             = tostring(aws_db_instance.this.port)
    DAGSTER_PG_DB               = aws_db_instance.this.db_name
    DAGSTER_PG_USER             = aws_db_instance.this.username
    DAGSTER_CODE_SERVER_HOST    = local.code_server_host
    DAGSTER_CODE_SERVER_PORT    = tostring(local.code_server_port)
    DAGSTER_ECS_CLUSTER         = aws_ecs_cluster.this.name
    DAGSTER_RUN_TASK_DEFINITION = local.families.run
    DAGSTER_RUN_SUBNETS         = join(",", local.private_subnet_ids)
    DAGSTER_RUN_SECURITY_GROUPS = aws_security_group.run.id
    DAGSTER_COMPUTE_LOG_BUCKET  = var.compute_log_bucket
    FAVORITA_DEPLOYMENT         = "aws"
    FAVORITA_DAGSTER_URL        = local.ui_url
  })

  # The password by reference only: ECS reads the "password" key of RDS's secret when it starts the container.
  secrets = [{ name = "DAGSTER_PG_PASSWORD", valueFrom = "${local.db_secret_arn}:password::" }]

  containers = {
    webserver = {
      name    = "webserver"
      command = ["dagster-webserver", "-h", "0.0.0.0", "-p", tostring(local.webserver_port), "-w", "/opt/dagster/workspace.yaml"]
      ports   = [local.webserver_port]
      extra   = {}
    }
    daemon = {
      name = "daemon"
      # dagster-daemon run, on a copy of the instance configuration with the run-start timeout (favorita_assets/aws/daemon.py)
      command = ["python", "-m", "favorita_assets.aws.daemon", "-w", "/opt/dagster/workspace.yaml"]
      ports   = []
      extra   = { FAVORITA_RUN_START_TIMEOUT_SECONDS = tostring(var.run_start_timeout_seconds) }
    }
    code_server = {
      name = "code-server"
      command = ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", tostring(local.code_server_port),
      "-m", "favorita_assets.definitions", "--location-name", "favorita"]
      ports = [local.code_server_port]
      # The image the code server reports is the one each run starts with.
      extra = { DAGSTER_CURRENT_IMAGE = local.image }
    }
    run = {
      name    = "run" # EcsRunLauncher overrides this container's command with the run's
      command = ["dagster", "api", "execute_run"]
      ports   = []
      extra   = {}
    }
  }

  sizes = merge(var.service_sizes, { run = var.run_size })

  # Seconds between ECS's SIGTERM and SIGKILL when a task is stopped (Fargate's most: 120; ECS's default: 30). A run
  # that is terminated uses them to stop the SageMaker job or Forecast resource it waits on, and to say so in its log.
  stop_timeouts = { run = 120 }
}

resource "aws_ecs_task_definition" "this" {
  for_each                 = local.families
  family                   = each.value
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(local.sizes[each.key].cpu)
  memory                   = tostring(local.sizes[each.key].memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task[each.key].arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "tmp"
  }

  volume {
    name = "var"
  }

  container_definitions = jsonencode([merge({ for k, v in local.stop_timeouts : "stopTimeout" => v if k == each.key }, {
    name                   = local.containers[each.key].name
    image                  = local.image
    essential              = true
    memory                 = local.sizes[each.key].memory # the whole task's (moto also needs it to place a task)
    command                = local.containers[each.key].command
    readonlyRootFilesystem = true
    user                   = "10001"
    portMappings           = [for p in local.containers[each.key].ports : { containerPort = p, protocol = "tcp" }]
    environment            = [for k, v in merge(local.environment, local.containers[each.key].extra) : { name = k, value = v }]
    secrets                = local.secrets
    mountPoints = [
      { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      { sourceVolume = "var", containerPath = "/opt/dagster/var", readOnly = false },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = local.region
        awslogs-stream-prefix = replace(each.key, "_", "-")
      }
    }
  })])
}

# The three services. Exactly one daemon, also during a deploy: the old task stops before the new one starts (maximum
# 100 %, minimum 0 %), so two daemons never tick the same schedule; a deploy leaves the platform without a daemon for
# about a minute, and the queue and the schedules catch up when the new one starts. The webserver and the code server
# start their new task before the old one stops.
locals {
  services = {
    webserver   = { minimum_percent = 100, maximum_percent = 200, grace_seconds = 120 }
    daemon      = { minimum_percent = 0, maximum_percent = 100, grace_seconds = null }
    code_server = { minimum_percent = 100, maximum_percent = 200, grace_seconds = null }
  }
}

resource "aws_ecs_service" "this" {
  for_each                           = local.services
  name                               = local.service_names[each.key]
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this[each.key].arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = each.value.minimum_percent
  deployment_maximum_percent         = each.value.maximum_percent
  health_check_grace_period_seconds  = each.value.grace_seconds
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  wait_for_steady_state              = false
  tags                               = var.tags

  # Each service's own group, named resource by resource (checkov does not follow a map of groups to the service).
  network_configuration {
    subnets          = local.private_subnet_ids
    security_groups  = [each.key == "webserver" ? aws_security_group.webserver.id : each.key == "daemon" ? aws_security_group.daemon.id : aws_security_group.code_server.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = each.key == "webserver" ? [1] : []
    content {
      target_group_arn = aws_lb_target_group.webserver.arn
      container_name   = "webserver"
      container_port   = local.webserver_port
    }
  }

  dynamic "service_registries" {
    for_each = each.key == "code_server" ? [1] : []
    content {
      registry_arn = aws_service_discovery_service.code_server.arn
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.http, aws_iam_role_policy.task, aws_iam_role_policy_attachment.dagster]
}
