# The module's promises, checked with `terraform test` against a mocked AWS provider (no account, no emulator):
# the database is private and encrypted, no task definition carries the password in its environment, exactly one
# daemon runs (also during a deploy), the UI's ingress is exactly the configured CIDRs, and wrong sizes or sign-in
# settings are refused before anything is created.
#
#   cd infra/terraform/modules/dagster && terraform init -plugin-dir=... && terraform test

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_ecs_cluster" {
    defaults = {
      arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/mock"
    }
  }

  mock_resource "aws_lb" {
    defaults = {
      arn      = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/mock/0123456789abcdef"
      dns_name = "mock-123.eu-west-1.elb.amazonaws.com"
    }
  }

  mock_resource "aws_lb_target_group" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/mock/0123456789abcdef"
    }
  }

  mock_resource "aws_service_discovery_service" {
    defaults = {
      arn = "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-mock"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/mock"
    }
  }

  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/mock"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/favorita-test-dagster"
    }
  }

  mock_resource "aws_sfn_state_machine" {
    defaults = {
      arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:favorita-test-dagster-redeploy"
    }
  }

  mock_resource "aws_db_instance" {
    defaults = {
      address = "favorita-test-dagster.abc.eu-west-1.rds.amazonaws.com"
      port    = 5432
      master_user_secret = [{
        secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-mock-AbCdEf"
        kms_key_id    = "arn:aws:kms:eu-west-1:123456789012:key/mock"
        secret_status = "active"
      }]
    }
  }
}

variables {
  name               = "favorita-test"
  kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/mock"
  dagster_policy_arn = "arn:aws:iam::123456789012:policy/favorita-test-dagster"
  compute_log_bucket = "favorita-test-artifacts"
  access_log_bucket  = "favorita-test-access-logs"
  ui_allowed_cidrs   = ["203.0.113.0/24", "10.20.0.0/16"]
  platform_environment = {
    FAVORITA_RAW_BUCKET = "favorita-test-raw"
  }
}

run "database_is_private_encrypted_and_backed_up" {
  command = apply

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "The Dagster database must not be publicly accessible."
  }

  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == var.kms_key_arn
    error_message = "The Dagster database must be encrypted with the platform's KMS key."
  }

  assert {
    condition     = aws_db_instance.this.manage_master_user_password && aws_db_instance.this.master_user_secret_kms_key_id == var.kms_key_arn
    error_message = "RDS must manage the master password in Secrets Manager, under the platform's key."
  }

  assert {
    condition     = aws_db_instance.this.backup_retention_period >= 1 && aws_db_instance.this.deletion_protection
    error_message = "Automated backups and (by default) deletion protection must be on."
  }

  assert {
    condition     = toset(aws_db_subnet_group.this.subnet_ids) == toset(aws_subnet.private[*].id)
    error_message = "The database must live in the private subnets only."
  }
}

run "a_rotated_password_redeploys_the_services" {
  command = apply

  assert {
    condition     = aws_secretsmanager_secret_rotation.db.secret_id == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-mock-AbCdEf" && aws_secretsmanager_secret_rotation.db.rotation_rules[0].schedule_expression == "cron(0 3 ? 1/3 SUN#1 *)"
    error_message = "Terraform must own the rotation schedule of RDS's secret (not RDS's default 7 days)."
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.db_rotated.event_pattern) == {
      source        = ["aws.secretsmanager"]
      "detail-type" = ["AWS Service Event via CloudTrail"]
      detail = {
        eventName           = ["RotationSucceeded"]
        additionalEventData = { SecretId = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-mock-AbCdEf"] }
      }
    }
    error_message = "The rule must fire on RotationSucceeded of the database secret, and of nothing else."
  }

  assert {
    condition     = aws_cloudwatch_event_target.redeploy.arn == aws_sfn_state_machine.redeploy.arn && aws_cloudwatch_event_target.redeploy.role_arn == aws_iam_role.rotated_event.arn
    error_message = "The rule must start the redeploy state machine."
  }

  assert {
    condition = toset([
      for b in jsondecode(aws_sfn_state_machine.redeploy.definition).States.Redeploy.Branches : jsonencode(values(b.States)[0].Parameters)
      if values(b.States)[0].Resource == "arn:aws:states:::aws-sdk:ecs:updateService"
      ]) == toset([for role in ["code_server", "daemon", "webserver"] : jsonencode({
        Cluster            = aws_ecs_cluster.this.name
        Service            = aws_ecs_service.this[role].name
        ForceNewDeployment = true
    })])
    error_message = "The state machine must force a new deployment of the webserver, daemon and code server."
  }

  assert {
    condition = data.aws_iam_policy_document.redeploy.statement[0].actions == toset(["ecs:UpdateService"]) && toset(data.aws_iam_policy_document.redeploy.statement[0].resources) == toset([
      for role in ["webserver", "daemon", "code-server"] : "arn:aws:ecs:eu-west-1:123456789012:service/${aws_ecs_cluster.this.name}/favorita-test-dagster-${role}"
    ])
    error_message = "The redeploy role may only update the services."
  }
}

run "a_rotation_schedule_secrets_manager_refuses_is_refused" {
  command = plan

  variables {
    db_password_rotation_schedule = "every sunday"
  }

  expect_failures = [var.db_password_rotation_schedule]
}

run "no_task_definition_holds_the_password" {
  command = apply

  assert {
    condition = alltrue([for td in aws_ecs_task_definition.this : alltrue([
      for c in jsondecode(td.container_definitions) : alltrue([for e in c.environment : !can(regex("(?i)password|secret", e.name))])
    ])])
    error_message = "No container environment may carry the database password."
  }

  assert {
    condition = alltrue([for td in aws_ecs_task_definition.this : alltrue([
      for c in jsondecode(td.container_definitions) : c.secrets == [{
        name      = "DAGSTER_PG_PASSWORD"
        valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-mock-AbCdEf:password::"
      }]
    ])])
    error_message = "Every container must get the password as an ECS secret, by the ARN of RDS's secret."
  }

  assert {
    condition     = length(aws_ecs_task_definition.this) == 4 && alltrue([for td in aws_ecs_task_definition.this : td.requires_compatibilities == toset(["FARGATE"])])
    error_message = "Webserver, daemon, code server and run: four Fargate task definitions."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this["run"].container_definitions)[0].name == "run"
    error_message = "The run launcher overrides the container named run."
  }
}

run "exactly_one_daemon_also_during_a_deploy" {
  command = apply

  assert {
    condition     = aws_ecs_service.this["daemon"].desired_count == 1
    error_message = "The daemon service must run exactly one task."
  }

  assert {
    condition     = [for role, s in aws_ecs_service.this : role if s.desired_count != 1] == []
    error_message = "Each service must run exactly one task."
  }

  assert {
    condition     = aws_ecs_service.this["daemon"].deployment_maximum_percent == 100 && aws_ecs_service.this["daemon"].deployment_minimum_healthy_percent == 0
    error_message = "A deploy must stop the old daemon before it starts the new one (never two)."
  }
}

run "only_the_configured_cidrs_reach_the_ui" {
  command = apply

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.alb_http : r.cidr_ipv4]) == toset(var.ui_allowed_cidrs)
    error_message = "The load balancer's ingress must be exactly ui_allowed_cidrs."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.alb_https) == 0 && length(aws_lb_listener.https) == 0
    error_message = "Without a certificate there is no HTTPS listener or rule."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.webserver_from_alb.referenced_security_group_id == aws_security_group.alb.id
    error_message = "The webserver must take traffic from the load balancer only."
  }

  assert {
    condition     = toset(keys(aws_vpc_security_group_ingress_rule.code_server)) == toset(["webserver", "daemon", "run"])
    error_message = "The code server must take gRPC from the daemon, the webserver and the runs only."
  }
}

run "https_with_sign_in_redirects_port_80" {
  command = apply

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/mock"
    cognito = {
      user_pool_arn       = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_mock"
      user_pool_client_id = "mockclient"
      user_pool_domain    = "favorita-test"
    }
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "redirect"
    error_message = "With a certificate, port 80 must redirect to HTTPS."
  }

  assert {
    condition     = [for a in aws_lb_listener.https[0].default_action : a.type] == ["authenticate-cognito", "forward"]
    error_message = "With Cognito, sign-in must come before the webserver."
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.alb_https : r.cidr_ipv4]) == toset(var.ui_allowed_cidrs)
    error_message = "HTTPS ingress must be exactly ui_allowed_cidrs."
  }

  assert {
    condition     = output.ui_url == "https://mock-123.eu-west-1.elb.amazonaws.com"
    error_message = "The UI URL must be the HTTPS one."
  }
}

run "sign_in_without_https_is_refused" {
  command = plan

  variables {
    cognito = {
      user_pool_arn       = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_mock"
      user_pool_client_id = "mockclient"
      user_pool_domain    = "favorita-test"
    }
  }

  expect_failures = [aws_lb_listener.http]
}

run "a_size_fargate_does_not_offer_is_refused" {
  command = plan

  variables {
    run_size = { cpu = 2048, memory = 2048 }
  }

  expect_failures = [var.run_size]
}

run "the_daemon_gives_run_tasks_ten_minutes_to_start" {
  command = apply

  assert {
    condition = jsondecode(aws_ecs_task_definition.this["daemon"].container_definitions)[0].command == [
      "python", "-m", "favorita_assets.aws.daemon", "-w", "/opt/dagster/workspace.yaml"
    ]
    error_message = "The daemon starts through favorita_assets.aws.daemon, which puts the start timeout in its instance."
  }

  assert {
    condition = contains(
      jsondecode(aws_ecs_task_definition.this["daemon"].container_definitions)[0].environment,
      { name = "FAVORITA_RUN_START_TIMEOUT_SECONDS", value = "600" }
    )
    error_message = "The daemon's environment carries run_start_timeout_seconds (600 by default)."
  }
}

run "a_stopped_run_task_has_two_minutes_to_stop_its_aws_jobs" {
  command = apply

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this["run"].container_definitions)[0].stopTimeout == 120
    error_message = "A run's task gets Fargate's longest stop timeout (120 s) between SIGTERM and SIGKILL."
  }

  assert {
    condition     = !can(jsondecode(aws_ecs_task_definition.this["webserver"].container_definitions)[0].stopTimeout)
    error_message = "Only the run tasks need the longer stop timeout."
  }
}

run "a_start_timeout_under_a_minute_is_refused" {
  command = plan

  variables {
    run_start_timeout_seconds = 30
  }

  expect_failures = [var.run_start_timeout_seconds]
}

run "no_ingress_at_all_is_refused" {
  command = plan

  variables {
    ui_allowed_cidrs = []
  }

  expect_failures = [var.ui_allowed_cidrs]
}

run "only_private_cidrs_make_an_internal_load_balancer" {
  command = plan

  variables {
    ui_allowed_cidrs = ["10.0.0.0/8", "172.20.0.0/16", "192.168.4.0/24"]
  }

  assert {
    condition     = aws_lb.this.internal == true && output.ui_internal == true
    error_message = "With only private CIDRs the load balancer must be internal: no internet client presents a private address."
  }

  assert {
    condition     = toset(aws_lb.this.subnets) == toset(aws_subnet.private[*].id)
    error_message = "An internal load balancer belongs in the private subnets."
  }
}

run "a_public_cidr_makes_an_internet_facing_load_balancer" {
  command = plan

  variables {
    ui_allowed_cidrs = ["10.0.0.0/8", "172.32.0.0/16"] # 172.32/16 lies outside 172.16/12
  }

  assert {
    condition     = aws_lb.this.internal == false && toset(aws_lb.this.subnets) == toset(aws_subnet.public[*].id)
    error_message = "With a public CIDR the load balancer must be internet-facing, in the public subnets."
  }
}

run "an_internet_facing_load_balancer_with_only_private_cidrs_is_refused" {
  command = plan

  variables {
    internal_load_balancer = false
    ui_allowed_cidrs       = ["10.0.0.0/8", "192.168.0.0/16"]
  }

  expect_failures = [aws_lb.this]
}

run "amazon_forecast_gets_its_endpoint_when_the_tasks_have_no_internet" {
  command = plan

  variables {
    egress        = "endpoints"
    model_backend = "amazon-forecast"
  }

  assert {
    condition     = contains(keys(aws_vpc_endpoint.interface), "forecast") && aws_vpc_endpoint.interface["forecast"].service_name == "com.amazonaws.eu-west-1.forecast"
    error_message = "With egress through endpoints, the Amazon Forecast backend needs Forecast's interface endpoint (or every call times out)."
  }
}

run "sagemaker_deepar_needs_no_forecast_endpoint" {
  command = plan

  variables {
    egress = "endpoints"
  }

  assert {
    condition     = !contains(keys(aws_vpc_endpoint.interface), "forecast") && contains(keys(aws_vpc_endpoint.interface), "sagemaker.api")
    error_message = "Only the Amazon Forecast backend gets Forecast's endpoint."
  }
}
