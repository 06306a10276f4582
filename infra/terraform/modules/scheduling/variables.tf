variable "name" {
  description = "Name prefix of every resource, e.g. favorita-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name))
    error_message = "name must be 4-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "raw_bucket" {
  description = "Bucket whose landing prefix starts a refresh when a file is uploaded."
  type        = string
}

variable "landing_prefix" {
  description = "Key prefix in the raw bucket where new Kaggle files are uploaded (the ops upload job writes here)."
  type        = string
  default     = "landing/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()-]+(/[a-zA-Z0-9!_.*'()-]+)*/$", var.landing_prefix)) && !startswith(var.landing_prefix, "raw/")
    error_message = "landing_prefix must be a key prefix ending in / and outside raw/ (the pipeline's own writes go there)."
  }
}

variable "sagemaker_name_prefix" {
  description = "Start of the SageMaker training job names whose end is reported."
  type        = string
}

variable "scheduler_role_arn" {
  description = "Role EventBridge Scheduler uses to send to the queue."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the alerts topic and the schedule."
  type        = string
}

variable "schedule_expression" {
  description = "When the monthly retrain fires (EventBridge Scheduler syntax)."
  type        = string
  default     = "cron(0 3 1 * ? *)"

  validation {
    condition     = can(regex("^(cron|rate|at)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...), rate(...) or at(...)."
  }
}

variable "schedule_timezone" {
  description = "IANA time zone of schedule_expression."
  type        = string
  default     = "UTC"
}

variable "schedule_enabled" {
  description = "Whether the monthly retrain schedule fires."
  type        = bool
  default     = true
}

variable "message_retention_seconds" {
  description = "Seconds an unread event stays on the queue."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "visibility_timeout_seconds" {
  description = "Seconds a received event stays hidden before it is delivered again (longer than a sensor tick)."
  type        = number
  default     = 120

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 0 and 43200."
  }
}

variable "max_receive_count" {
  description = "Receives before an event moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "alert_emails" {
  description = "Email addresses subscribed to the alerts topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
