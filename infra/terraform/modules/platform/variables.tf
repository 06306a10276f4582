variable "name" {
  description = "Name prefix of every resource, e.g. favorita-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name))
    error_message = "name must be 4-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "glue_package_dir" {
  description = "Folder holding clean_series_job.py and favorita_core.zip, built by `favorita glue-package --out DIR`."
  type        = string
}

variable "bucket_suffix" {
  description = "Suffix that makes the bucket names globally unique; null uses the AWS account id."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy delete buckets that still hold objects (disposable environments only)."
  type        = bool
  default     = false
}

variable "enforce_secure_transport" {
  description = "Bucket policies deny requests not made over TLS. Turn off only for emulators that do not fill aws:SecureTransport."
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
  default     = 30
}

variable "training_channel_expiration_days" {
  description = "Days the DeepAR training channels are kept."
  type        = number
  default     = 180
}

variable "glue_number_of_workers" {
  description = "Glue workers per cleaning run."
  type        = number
  default     = 2
}

variable "landing_prefix" {
  description = "Key prefix in the raw bucket where uploads start a refresh."
  type        = string
  default     = "landing/"
}

variable "schedule_enabled" {
  description = "Whether the monthly retrain schedule fires."
  type        = bool
  default     = true
}

variable "alert_emails" {
  description = "Email addresses subscribed to the alerts topic."
  type        = list(string)
  default     = []
}

variable "model_backend" {
  description = "Who trains and forecasts: sagemaker-deepar, or amazon-forecast (for accounts that still have Amazon Forecast; adds its role and the Dagster policy's Forecast calls)."
  type        = string
  default     = "sagemaker-deepar"

  validation {
    condition     = contains(["sagemaker-deepar", "amazon-forecast"], var.model_backend)
    error_message = "model_backend must be sagemaker-deepar or amazon-forecast."
  }
}

variable "dagster_role_names" {
  description = "Existing IAM roles that run Dagster; the Dagster policy is attached to each."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
