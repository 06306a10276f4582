# IAM: the Glue job's role, the SageMaker execution role, the EventBridge Scheduler role, the Amazon Forecast role
# (only with forecast_enabled), and the policy for whatever runs Dagster. Every statement names the ARNs it applies to; the few actions AWS cannot scope say so in a comment.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  raw       = var.bucket_arns["raw"]
  processed = var.bucket_arns["processed"]
  artifacts = var.bucket_arns["artifacts"]

  glue_job_arn        = "arn:${local.partition}:glue:${local.region}:${local.account_id}:job/${var.glue_job_name}"
  glue_log_group_arns = [for name in var.glue_log_group_names : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${name}"]
  sagemaker_arn       = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}"
  sagemaker_logs_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/*"
  # SageMaker's built-in DeepAR image lives in an AWS-owned registry whose account differs by region.
  deepar_repository_arn = "arn:${local.partition}:ecr:${local.region}:*:repository/forecasting-deepar"

  # Amazon Forecast names take letters, digits and _ only: the backend names every resource <prefix>_<version>_<stamp>.
  forecast_arn = "arn:${local.partition}:forecast:${local.region}:${local.account_id}"
  forecast_resources = concat(
    [for kind in ["dataset-group", "dataset", "predictor", "forecast"] : "${local.forecast_arn}:${kind}/${var.forecast_name_prefix}_*"],
    # a job's ARN holds its parent's name: dataset-import-job/<dataset>/<job>, forecast-export-job/<forecast>/<export>
    [for kind in ["dataset-import-job", "predictor-backtest-export-job", "forecast-export-job"] : "${local.forecast_arn}:${kind}/${var.forecast_name_prefix}_*/*"],
    # a named algorithm of CreatePredictor (Deep_AR_Plus, CNN-QR, ...) is an AWS-owned resource
    ["arn:${local.partition}:forecast:::algorithm/*"],
  )
  # Written out rather than read from the role, so the Dagster policy is known at plan time.
  forecast_role_arn = "arn:${local.partition}:iam::${local.account_id}:role/${var.name}-forecast"
  passed_roles      = concat([aws_iam_role.sagemaker.arn, aws_iam_role.glue.arn], var.forecast_enabled ? [local.forecast_role_arn] : [])
  passed_to         = concat(["sagemaker.amazonaws.com", "glue.amazonaws.com"], var.forecast_enabled ? ["forecast.amazonaws.com"] : [])

  kms_use = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*", "kms:DescribeKey"]
}

data "aws_iam_policy_document" "assume" {
  for_each = {
    glue      = "glue.amazonaws.com"
    sagemaker = "sagemaker.amazonaws.com"
    scheduler = "scheduler.amazonaws.com"
    forecast  = "forecast.amazonaws.com"
  }

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [each.value]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

################################################################################
# Glue job role: read raw files and its own code, write cleaned series, training channels and the challengers' forecasts,
# talk to Dagster through Pipes files
################################################################################

data "aws_iam_policy_document" "glue" {
  statement {
    sid       = "ListPipelineBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.raw, local.processed, local.artifacts]
  }

  statement {
    sid       = "ReadRawFilesAndJobCode"
    actions   = ["s3:GetObject"]
    resources = ["${local.raw}/raw/*", "${local.artifacts}/glue/*"]
  }

  statement {
    sid       = "WriteCleanedSeries"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.processed}/processed/*"]
  }

  statement {
    # The same job also builds the DeepAR channels of a cut-off (--task channels) from the cleaned series.
    sid       = "WriteTrainingChannels"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.artifacts}/training/*"]
  }

  statement {
    # The same job runs the backtest's challengers (--task challengers): it reads the channels above and writes the
    # per-series forecasts beside the backtest, never the scores, the choice or the published forecasts.
    sid       = "WriteChallengerForecasts"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.artifacts}/evaluation/cutoff_month=*/challengers/*"]
  }

  statement {
    sid       = "PipesMessagesAndTempFiles"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.artifacts}/pipes/*", "${local.artifacts}/glue-temp/*"]
  }

  statement {
    sid       = "UseTheKey"
    actions   = local.kms_use
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteJobLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = concat(local.glue_log_group_arns, [for arn in local.glue_log_group_arns : "${arn}:*"])
  }

  statement {
    # PutMetricData has no resource type; the namespace condition scopes it.
    sid       = "PublishGlueMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue"]
    }
  }
}

resource "aws_iam_role" "glue" {
  name                 = "${var.name}-glue"
  description          = "Glue job ${var.glue_job_name}: cleans the raw sales into series"
  assume_role_policy   = data.aws_iam_policy_document.assume["glue"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "glue" {
  name   = "clean-series"
  role   = aws_iam_role.glue.id
  policy = data.aws_iam_policy_document.glue.json
}

################################################################################
# SageMaker execution role: read channels, write model artifacts and transform output, pull DeepAR, write logs
################################################################################

data "aws_iam_policy_document" "sagemaker" {
  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.artifacts]
  }

  statement {
    sid       = "ReadTrainingChannelsAndModels"
    actions   = ["s3:GetObject"]
    resources = ["${local.artifacts}/training/*", "${local.artifacts}/models/*", "${local.artifacts}/transforms/*"]
  }

  statement {
    sid       = "WriteModelArtifactsAndTransformOutput"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.artifacts}/models/*", "${local.artifacts}/transforms/*"]
  }

  statement {
    sid       = "UseTheKey"
    actions   = local.kms_use
    resources = [var.kms_key_arn]
  }

  statement {
    # GetAuthorizationToken has no resource type.
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullDeepArImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [local.deepar_repository_arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [local.sagemaker_logs_arn, "${local.sagemaker_logs_arn}:*"]
  }

  statement {
    # PutMetricData has no resource type; the namespace condition scopes it.
    sid       = "PublishMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/*"]
    }
  }
}

resource "aws_iam_role" "sagemaker" {
  name                 = "${var.name}-sagemaker"
  description          = "SageMaker execution role of the DeepAR training, batch transform and endpoints"
  assume_role_policy   = data.aws_iam_policy_document.assume["sagemaker"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "sagemaker" {
  name   = "deepar"
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.sagemaker.json
}

################################################################################
# Amazon Forecast role (forecast_enabled): import the datasets Glue writes beside the channels, write the backtest and
# forecast exports into the model version's folder
################################################################################

data "aws_iam_policy_document" "forecast" {
  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.artifacts]
  }

  statement {
    # training/<cut-off>/forecast/{target,related,items}/part-*.csv
    sid       = "ReadForecastDatasets"
    actions   = ["s3:GetObject"]
    resources = ["${local.artifacts}/training/*/forecast/*"]
  }

  statement {
    # models/<version>/amazon_forecast/exports/{backtest,forecast}/...
    sid       = "WriteExports"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.artifacts}/models/*/amazon_forecast/exports/*"]
  }

  statement {
    sid       = "UseTheKey"
    actions   = local.kms_use
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "forecast" {
  count = var.forecast_enabled ? 1 : 0

  name                 = "${var.name}-forecast"
  description          = "Amazon Forecast: imports the datasets and writes the exports of the amazon-forecast backend"
  assume_role_policy   = data.aws_iam_policy_document.assume["forecast"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "forecast" {
  count = var.forecast_enabled ? 1 : 0

  name   = "datasets-and-exports"
  role   = aws_iam_role.forecast[0].id
  policy = data.aws_iam_policy_document.forecast.json
}

################################################################################
# EventBridge Scheduler role: put the monthly retrain message on the queue (or its dead-letter queue)
################################################################################

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "SendToEventQueues"
    actions   = ["sqs:SendMessage"]
    resources = var.scheduler_queue_arns
  }

  statement {
    sid       = "ReadTheEncryptedSchedule"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "scheduler" {
  name                 = "${var.name}-scheduler"
  description          = "EventBridge Scheduler: monthly retrain message to the Dagster event queue"
  assume_role_policy   = data.aws_iam_policy_document.assume["scheduler"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "send-to-queue"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

################################################################################
# Dagster: only the calls the pipeline and the ops jobs make
################################################################################

data "aws_iam_policy_document" "dagster" {
  statement {
    sid       = "ListPipelineBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.raw, local.processed, local.artifacts]
  }

  statement {
    sid       = "ReadWritePipelineObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.raw}/*", "${local.processed}/*", "${local.artifacts}/*"]
  }

  statement {
    sid       = "UseTheKey"
    actions   = local.kms_use
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "RunTheCleaningJob"
    actions   = ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun", "glue:GetJob"]
    resources = [local.glue_job_arn]
  }

  statement {
    sid       = "ReadCleaningJobLogs"
    actions   = ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"]
    resources = concat(local.glue_log_group_arns, [for arn in local.glue_log_group_arns : "${arn}:*"])
  }

  statement {
    sid = "TrainAndServeDeepAr"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateEndpoint",
      "sagemaker:CreateEndpointConfig",
      "sagemaker:CreateModel",
      "sagemaker:CreateTrainingJob",
      "sagemaker:CreateTransformJob",
      "sagemaker:DeleteEndpoint",
      "sagemaker:DeleteEndpointConfig",
      "sagemaker:DeleteModel",
      "sagemaker:DescribeEndpoint",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DescribeModel",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:DescribeTransformJob",
      "sagemaker:InvokeEndpoint",
      "sagemaker:ListTags",
      "sagemaker:StopTrainingJob",
      "sagemaker:StopTransformJob",
      "sagemaker:UpdateEndpoint",
    ]
    resources = [
      for kind in ["training-job", "transform-job", "model", "endpoint", "endpoint-config"] :
      "${local.sagemaker_arn}:${kind}/${var.sagemaker_name_prefix}-*"
    ]
  }

  statement {
    # Registering a version with Tags is also judged as sagemaker:AddTags on the new package (tag-on-create).
    sid = "ModelRegistry"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateModelPackage",
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
      "sagemaker:UpdateModelPackage",
    ]
    resources = [
      var.model_package_group_arn,
      "${local.sagemaker_arn}:model-package/${var.model_package_group_name}/*",
    ]
  }

  statement {
    # List calls have no resource type, so AWS judges them only against "*": scoped to an ARN they are refused.
    # Deploy reads the registry's packages; the clean-up job lists endpoints, their configurations and models.
    sid = "ListSageMakerResources"
    actions = [
      "sagemaker:ListEndpointConfigs",
      "sagemaker:ListEndpoints",
      "sagemaker:ListModelPackages",
      "sagemaker:ListModels",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.forecast_enabled ? [1] : []

    content {
      # Every resource the amazon-forecast backend makes is named <prefix>_...; DeleteResourceTree (the clean-up)
      # needs the Delete of each kind it removes.
      sid = "TrainAndForecastWithAmazonForecast"
      actions = [for action in [
        "CreateAutoPredictor", "CreateDataset", "CreateDatasetGroup", "CreateDatasetImportJob", "CreateForecast",
        "CreateForecastExportJob", "CreatePredictor", "CreatePredictorBacktestExportJob", "DeleteDataset",
        "DeleteDatasetGroup", "DeleteDatasetImportJob", "DeleteForecast", "DeleteForecastExportJob", "DeletePredictor",
        "DeletePredictorBacktestExportJob", "DeleteResourceTree", "DescribeAutoPredictor", "DescribeDataset",
        "DescribeDatasetGroup", "DescribeDatasetImportJob", "DescribeForecast", "DescribeForecastExportJob",
        "DescribePredictor", "DescribePredictorBacktestExportJob", "StopResource", "TagResource", "UpdateDatasetGroup",
      ] : "forecast:${action}"]
      resources = local.forecast_resources
    }
  }

  dynamic "statement" {
    for_each = var.forecast_enabled ? [1] : []

    content {
      # List calls have no resource type: the clean-up lists dataset groups to find a removed version's by name.
      sid       = "ListForecastDatasetGroups"
      actions   = ["forecast:ListDatasetGroups"]
      resources = ["*"]
    }
  }

  statement {
    sid       = "PassOnlyThePipelineRoles"
    actions   = ["iam:PassRole"]
    resources = local.passed_roles

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = local.passed_to
    }
  }

  statement {
    sid       = "ConsumeEventQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [var.event_queue_arn]
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [var.alerts_topic_arn]
  }
}

resource "aws_iam_policy" "dagster" {
  name        = "${var.name}-dagster"
  description = "Everything the Favorita Dagster code location calls, and nothing else; attach it to the role that runs Dagster"
  policy      = data.aws_iam_policy_document.dagster.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "dagster" {
  for_each = toset(var.dagster_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.dagster.arn
}
