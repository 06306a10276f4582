variable "name" {
  description = "Name prefix of every resource, e.g. favorita-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name))
    error_message = "name must be 4-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "bucket_suffix" {
  description = "Suffix that makes the bucket names globally unique; null uses the AWS account id."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_suffix == null || can(regex("^[a-z0-9][a-z0-9-]{0,19}$", var.bucket_suffix))
    error_message = "bucket_suffix must be at most 20 lowercase letters, digits or hyphens."
  }
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

variable "kms_deletion_window_days" {
  description = "Days a deleted KMS key can still be restored."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept in the data buckets."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "training_channel_expiration_days" {
  description = "Days the DeepAR training channels (artifacts training/) are kept; models and forecasts are kept."
  type        = number
  default     = 180

  validation {
    condition     = var.training_channel_expiration_days >= 1
    error_message = "training_channel_expiration_days must be at least 1."
  }
}

variable "scratch_expiration_days" {
  description = "Days batch-transform, Dagster Pipes, Glue temp and Athena result files are kept."
  type        = number
  default     = 14

  validation {
    condition     = var.scratch_expiration_days >= 1
    error_message = "scratch_expiration_days must be at least 1."
  }
}

variable "access_log_expiration_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_expiration_days >= 1
    error_message = "access_log_expiration_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
