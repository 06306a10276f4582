# Roles. One execution role (ECS pulls the image, writes the logs and reads the database secret with it) and a task
# role per kind of task, each with only what that process calls:
#   webserver    stop a run's task, read its state and logs, read the runs' compute logs
#   daemon       start a run's task (the run family only, in this cluster only), stop it, read its state and logs
#   code server  the Dagster policy (its sensors read the event queue and publish alerts)
#   run          the Dagster policy (S3, Glue, SageMaker, SQS, SNS) and writing its compute logs

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-dagster-execution"
  description        = "ECS pulls the Dagster image, writes its logs and reads the database secret"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource type
  }

  statement {
    sid       = "PullTheImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "ReadTheDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.db_secret_arn]
  }

  statement {
    sid       = "DecryptWithThePlatformKey"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-log-secret"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "task" {
  for_each           = local.families
  name               = "${var.name}-dagster-${replace(each.key, "_", "-")}"
  description        = "Task role of the Dagster ${replace(each.key, "_", " ")}"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

locals {
  cluster_arn       = aws_ecs_cluster.this.arn
  run_family_arn    = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${local.families.run}:*"
  cluster_task_arns = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"
  compute_log_arn   = "arn:${local.partition}:s3:::${var.compute_log_bucket}/compute-logs/*"
}

# What every Dagster process's instance reads when it starts: the run task definition the launcher names.
data "aws_iam_policy_document" "instance" {
  statement {
    sid       = "DescribeTheRunTaskDefinition"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"] # DescribeTaskDefinition has no resource type
  }
}

data "aws_iam_policy_document" "watch_runs" {
  source_policy_documents = [data.aws_iam_policy_document.instance.json]

  statement {
    sid       = "WatchAndStopRunTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = [local.cluster_task_arns]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "ReadRunLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }
}

data "aws_iam_policy_document" "webserver" {
  source_policy_documents = [data.aws_iam_policy_document.watch_runs.json]

  statement {
    sid       = "ReadComputeLogs"
    actions   = ["s3:GetObject"]
    resources = [local.compute_log_arn]
  }

  statement {
    sid       = "ListComputeLogs"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.compute_log_bucket}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["compute-logs/*"]
    }
  }

  statement {
    sid       = "DecryptComputeLogs"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

data "aws_iam_policy_document" "daemon" {
  source_policy_documents = [data.aws_iam_policy_document.watch_runs.json]

  statement {
    sid       = "StartRunTasks"
    actions   = ["ecs:RunTask"]
    resources = [local.run_family_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "TagRunTasksAtStart"
    actions   = ["ecs:TagResource"]
    resources = [local.cluster_task_arns]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid       = "PassTheRunRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.task["run"].arn, aws_iam_role.execution.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "run" {
  source_policy_documents = [data.aws_iam_policy_document.instance.json]

  statement {
    sid       = "WriteComputeLogs"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = [local.compute_log_arn]
  }

  statement {
    sid       = "EncryptComputeLogs"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

locals {
  task_policies = {
    webserver   = data.aws_iam_policy_document.webserver.json
    daemon      = data.aws_iam_policy_document.daemon.json
    code_server = data.aws_iam_policy_document.instance.json
    run         = data.aws_iam_policy_document.run.json
  }
}

resource "aws_iam_role_policy" "task" {
  for_each = local.task_policies
  name     = "dagster-${replace(each.key, "_", "-")}"
  role     = aws_iam_role.task[each.key].id
  policy   = each.value
}

resource "aws_iam_role_policy_attachment" "dagster" {
  for_each   = toset(["code_server", "run"])
  role       = aws_iam_role.task[each.key].name
  policy_arn = var.dagster_policy_arn
}
