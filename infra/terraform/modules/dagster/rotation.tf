# The database password's rotation. RDS keeps the master password in Secrets Manager and rotates it; ECS reads the
# secret only when a task starts, and dagster-postgres opens a connection per operation, so after a rotation the
# webserver, daemon and code server can no longer log in until they are restarted. So:
#   - the schedule is Terraform's (db_password_rotation_schedule, by default the first Sunday of every third month in
#     the database's maintenance window), not RDS's 7 days;
#   - when Secrets Manager reports the rotation done (RotationSucceeded), EventBridge starts a Step Functions state
#     machine that forces a new deployment of the three services: their new tasks read the new password.
# Runs started after the rotation read it at start too; a run in flight at that moment fails and is retried.

resource "aws_secretsmanager_secret_rotation" "db" {
  secret_id          = local.db_secret_arn
  rotate_immediately = false # not under the tasks the same apply starts: first on the schedule

  rotation_rules {
    schedule_expression = var.db_password_rotation_schedule
    duration            = "1h"
  }
}

resource "aws_cloudwatch_event_rule" "db_rotated" {
  name        = "${var.name}-dagster-db-rotated"
  description = "The Dagster database password was rotated: redeploy the services so they read it"
  tags        = var.tags
  event_pattern = jsonencode({
    source        = ["aws.secretsmanager"]
    "detail-type" = ["AWS Service Event via CloudTrail"]
    detail = {
      eventName           = ["RotationSucceeded"]
      additionalEventData = { SecretId = [local.db_secret_arn] }
    }
  })
}

locals {
  # The services by name (known before they exist: the rule, the role and the state machine never wait on a change
  # to a service, and a plan that updates a service leaves them alone).
  service_names = { for role in keys(local.services) : role => "${var.name}-dagster-${replace(role, "_", "-")}" }
  service_arns  = [for name in values(local.service_names) : "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${aws_ecs_cluster.this.name}/${name}"]

  # One ECS UpdateService(forceNewDeployment) per service, in parallel; each retried on throttling.
  redeploy_definition = jsonencode({
    Comment = "Redeploy the Dagster services so their tasks read the rotated database password"
    StartAt = "Redeploy"
    States = {
      Redeploy = {
        Type = "Parallel"
        End  = true
        Branches = [for role in sort(keys(local.services)) : {
          StartAt = role
          States = {
            (role) = {
              Type     = "Task"
              Resource = "arn:${local.partition}:states:::aws-sdk:ecs:updateService"
              Parameters = {
                Cluster            = aws_ecs_cluster.this.name
                Service            = local.service_names[role]
                ForceNewDeployment = true
              }
              Retry = [{ ErrorEquals = ["States.ALL"], IntervalSeconds = 10, MaxAttempts = 5, BackoffRate = 2 }]
              End   = true
            }
          }
        }]
      }
    }
  })
}

# Its definition and executions hold the cluster's and services' names only: Step Functions' own key encrypts them.
resource "aws_sfn_state_machine" "redeploy" {
  #checkov:skip=CKV_AWS_284:Tracing would show three ECS calls a quarter; the execution history and the log group below hold them.
  name       = "${var.name}-dagster-redeploy"
  role_arn   = aws_iam_role.redeploy.arn
  definition = local.redeploy_definition
  tags       = var.tags

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = true # the rotation event and the services' descriptions: no secret
    level                  = "ALL"
  }
}

data "aws_iam_policy_document" "states_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "redeploy" {
  name               = "${var.name}-dagster-redeploy"
  description        = "Step Functions redeploys the Dagster services after the database password rotates"
  assume_role_policy = data.aws_iam_policy_document.states_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "redeploy" {
  statement {
    sid       = "RedeployTheServices"
    actions   = ["ecs:UpdateService"]
    resources = local.service_arns
  }

  statement {
    sid = "WriteItsLogs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"] # the log-delivery actions have no resource type
  }
}

resource "aws_iam_role_policy" "redeploy" {
  name   = "redeploy-services"
  role   = aws_iam_role.redeploy.id
  policy = data.aws_iam_policy_document.redeploy.json
}

data "aws_iam_policy_document" "events_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "rotated_event" {
  name               = "${var.name}-dagster-rotated-event"
  description        = "EventBridge starts the redeploy after the database password rotates"
  assume_role_policy = data.aws_iam_policy_document.events_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "rotated_event" {
  statement {
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.redeploy.arn]
  }
}

resource "aws_iam_role_policy" "rotated_event" {
  name   = "start-redeploy"
  role   = aws_iam_role.rotated_event.id
  policy = data.aws_iam_policy_document.rotated_event.json
}

resource "aws_cloudwatch_event_target" "redeploy" {
  rule     = aws_cloudwatch_event_rule.db_rotated.name
  arn      = aws_sfn_state_machine.redeploy.arn
  role_arn = aws_iam_role.rotated_event.arn
}
