# Scheduling: the events that start Dagster runs. EventBridge Scheduler puts the monthly retrain message on an SQS
# queue; EventBridge rules add raw files landing in S3 and SageMaker training jobs ending. Dagster's sensor reads the
# queue (long polling). Messages that cannot be delivered or processed end in a dead-letter queue. Failure alerts go to
# an SNS topic.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  rules = {
    raw-data-landed = {
      description = "A raw Favorita file was uploaded to the landing prefix"
      pattern = {
        source        = ["aws.s3"]
        "detail-type" = ["Object Created"]
        detail = {
          bucket = { name = [var.raw_bucket] }
          object = { key = [{ prefix = var.landing_prefix }] }
        }
      }
    }
    training-job-ended = {
      description = "A Favorita SageMaker training job completed, failed or was stopped"
      pattern = {
        source        = ["aws.sagemaker"]
        "detail-type" = ["SageMaker Training Job State Change"]
        detail = {
          TrainingJobName   = [{ prefix = "${var.sagemaker_name_prefix}-" }]
          TrainingJobStatus = ["Completed", "Failed", "Stopped"]
        }
      }
    }
  }
}

################################################################################
# Queues
################################################################################

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-events-dlq"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "events" {
  name                       = "${var.name}-events"
  message_retention_seconds  = var.message_retention_seconds
  visibility_timeout_seconds = var.visibility_timeout_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags
}

data "aws_iam_policy_document" "queue" {
  for_each = {
    events      = aws_sqs_queue.events.arn
    dead_letter = aws_sqs_queue.dead_letter.arn
  }

  statement {
    sid       = "EventBridgeRulesOfThisStack"
    actions   = ["sqs:SendMessage"]
    resources = [each.value]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.this : rule.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  for_each = {
    events      = aws_sqs_queue.events.id
    dead_letter = aws_sqs_queue.dead_letter.id
  }

  queue_url = each.value
  policy    = data.aws_iam_policy_document.queue[each.key].json
}

################################################################################
# Monthly retrain (EventBridge Scheduler)
################################################################################

resource "aws_scheduler_schedule" "monthly_retrain" {
  name                         = "${var.name}-monthly-retrain"
  description                  = "Retrain DeepAR and publish forecasts for the month that just ended"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sqs_queue.events.arn
    role_arn = var.scheduler_role_arn

    # Scheduler fills in the <aws.scheduler.*> context attributes when it fires.
    input = jsonencode({
      source        = "favorita.scheduler"
      "detail-type" = "Monthly Retrain"
      time          = "<aws.scheduler.scheduled-time>"
      id            = "<aws.scheduler.execution-id>"
      detail = {
        schedule = "${var.name}-monthly-retrain"
      }
    })

    dead_letter_config {
      arn = aws_sqs_queue.dead_letter.arn
    }

    retry_policy {
      maximum_event_age_in_seconds = 86400
      maximum_retry_attempts       = 10
    }
  }
}

################################################################################
# EventBridge rules: raw data landed, training job ended
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name          = "${var.name}-${each.key}"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.rules

  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "dagster-event-queue"
  arn       = aws_sqs_queue.events.arn

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 10
  }
}

################################################################################
# Alerts
################################################################################

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-alerts"
  display_name      = "Favorita forecast alerts"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

# A message in the dead-letter queue is a retrain, a landing or a failure alert that never reached Dagster: say so.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name}-events-dead-letters"
  alarm_description   = "Favorita events reached the dead-letter queue ${aws_sqs_queue.dead_letter.name}: Dagster could not handle them (see the eventbridge_events sensor's ticks); redrive them once fixed"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}
