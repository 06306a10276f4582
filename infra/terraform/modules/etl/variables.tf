variable "name" {
  description = "Name prefix, e.g. favorita-dev; the Glue database is this with underscores."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name))
    error_message = "name must be 4-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "job_name" {
  description = "Name of the Glue cleaning job (FAVORITA_GLUE_JOB_NAME)."
  type        = string
}

variable "glue_role_arn" {
  description = "ARN of the role the Glue job runs as."
  type        = string
}

variable "artifacts_bucket" {
  description = "Bucket holding the Glue code (glue/), temp files, forecasts and Athena results."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for the uploaded code, logs, job output and query results."
  type        = string
}

variable "glue_script_path" {
  description = "Local path of clean_series_job.py, built by `favorita glue-package --out DIR`."
  type        = string
}

variable "glue_package_path" {
  description = "Local path of favorita_core.zip (the pure cleaning package), built by `favorita glue-package --out DIR`."
  type        = string
}

variable "glue_version" {
  description = "Glue version of the job (Python 3.11 on 5.0)."
  type        = string
  default     = "5.0"

  validation {
    condition     = contains(["4.0", "5.0"], var.glue_version)
    error_message = "glue_version must be 4.0 or 5.0."
  }
}

variable "worker_type" {
  description = "Glue worker type of the Spark (glueetl) job."
  type        = string
  default     = "G.1X"

  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X"], var.worker_type)
    error_message = "worker_type must be one of G.1X, G.2X, G.4X, G.8X (G.025X is for streaming jobs only, not a glueetl job)."
  }
}

variable "number_of_workers" {
  description = "Glue workers per run (2 is Glue's minimum for Spark jobs)."
  type        = number
  default     = 2

  validation {
    condition     = var.number_of_workers >= 2 && var.number_of_workers <= 100
    error_message = "number_of_workers must be between 2 and 100."
  }
}

variable "timeout_minutes" {
  description = "Minutes after which Glue stops a run."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_minutes >= 1 && var.timeout_minutes <= 2880
    error_message = "timeout_minutes must be between 1 and 2880."
  }
}

variable "max_concurrent_runs" {
  description = "Runs of the job that may overlap (a monthly backfill runs several cut-offs at once)."
  type        = number
  default     = 3

  validation {
    condition     = var.max_concurrent_runs >= 1 && var.max_concurrent_runs <= 50
    error_message = "max_concurrent_runs must be between 1 and 50."
  }
}

variable "default_engine" {
  description = "Engine of the job script when Dagster does not pass one: spark or pandas."
  type        = string
  default     = "spark"

  validation {
    condition     = contains(["spark", "pandas"], var.default_engine)
    error_message = "default_engine must be spark or pandas."
  }
}

variable "additional_python_modules" {
  description = "Python packages Glue installs for the job; dagster-pipes must match the Dagster deployment's minor version, orjson writes the DeepAR channels, statsforecast, mlforecast and lightgbm run the backtest's challengers (the versions the platform is tested with; their wheels are for CPython 3.11 on manylinux_2_28 x86_64, which Glue 5.0's Amazon Linux 2023 image runs)."
  type        = string
  default     = "dagster-pipes==1.13.*,orjson==3.*,statsforecast==2.1.1,mlforecast==1.1.0,lightgbm==4.7.0"
}

variable "log_group_name" {
  description = "Prefix of the job's CloudWatch log groups (Glue 5.0's --custom-logGroup-prefix): it writes to <prefix>/output and <prefix>/error."
  type        = string

  validation {
    condition     = startswith(var.log_group_name, "/aws-glue/") && can(regex("^[A-Za-z0-9_/-]{1,400}$", var.log_group_name)) && !endswith(var.log_group_name, "/")
    error_message = "log_group_name must start with /aws-glue/ (so Glue's console finds it), hold only letters, digits, _, - and /, and not end with /."
  }
}

variable "log_retention_days" {
  description = "Days the job's logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
}

variable "first_cutoff_month" {
  description = "First monthly cut-off Athena's partition projection looks for, YYYY-MM."
  type        = string
  default     = "2013-01"

  validation {
    condition     = can(regex("^[0-9]{4}-(0[1-9]|1[0-2])$", var.first_cutoff_month))
    error_message = "first_cutoff_month must be YYYY-MM."
  }
}

variable "athena_bytes_scanned_cutoff" {
  description = "Bytes one Athena query may scan before it is cancelled (cost guard)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "athena_bytes_scanned_cutoff must be at least 10 MB (Athena's minimum)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
