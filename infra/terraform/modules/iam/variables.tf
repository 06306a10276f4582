variable "name" {
  description = "Name prefix of every role and policy, e.g. favorita-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name))
    error_message = "name must be 4-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "bucket_arns" {
  description = "ARNs of the raw, processed and artifacts buckets (storage module output bucket_arns)."
  type        = map(string)

  validation {
    condition     = alltrue([for role in ["raw", "processed", "artifacts"] : contains(keys(var.bucket_arns), role)])
    error_message = "bucket_arns must hold raw, processed and artifacts."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the buckets."
  type        = string
}

variable "glue_job_name" {
  description = "Name of the Glue cleaning job the Dagster policy may start."
  type        = string
}

variable "glue_log_group_names" {
  description = "CloudWatch log groups the Glue job writes to (exactly these: the job's role may write no other)."
  type        = list(string)
}

variable "sagemaker_name_prefix" {
  description = "Start of the SageMaker job, model and endpoint names Dagster creates (FAVORITA_SAGEMAKER_NAME_PREFIX)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,29}$", var.sagemaker_name_prefix))
    error_message = "sagemaker_name_prefix must be at most 30 letters, digits or hyphens."
  }
}

variable "forecast_enabled" {
  description = "Make the Amazon Forecast role and allow the Dagster policy Forecast's calls on forecast_name_prefix's names (the amazon-forecast model backend)."
  type        = bool
  default     = false
}

variable "forecast_name_prefix" {
  description = "Start of the Amazon Forecast resource names Dagster creates: the SageMaker name prefix with _ for -."
  type        = string
  default     = "favorita"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,31}$", var.forecast_name_prefix))
    error_message = "forecast_name_prefix must start with a letter and hold at most 32 letters, digits or _."
  }
}

variable "model_package_group_name" {
  description = "Name of the SageMaker model package group (the model registry)."
  type        = string
}

variable "model_package_group_arn" {
  description = "ARN of the SageMaker model package group."
  type        = string
}

variable "event_queue_arn" {
  description = "ARN of the SQS queue the Dagster sensor reads."
  type        = string
}

variable "scheduler_queue_arns" {
  description = "ARNs of the queues EventBridge Scheduler may send to (the event queue and its dead-letter queue)."
  type        = list(string)
}

variable "alerts_topic_arn" {
  description = "ARN of the SNS topic Dagster publishes failure and low-stock alerts to."
  type        = string
}

variable "dagster_role_names" {
  description = "Existing IAM roles that run Dagster (an ECS task role, an EC2 instance role); the Dagster policy is attached to each."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
