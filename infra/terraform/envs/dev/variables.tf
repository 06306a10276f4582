variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name_prefix" {
  description = "Start of every resource name; the environment is appended (favorita -> favorita-dev)."
  type        = string
  default     = "favorita"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.name_prefix))
    error_message = "name_prefix must be 2-20 lowercase letters, digits or hyphens, starting with a letter (with -dev appended, the Dagster load balancer's name allows no more)."
  }
}

variable "glue_package_dir" {
  description = "Folder with clean_series_job.py and favorita_core.zip from `favorita glue-package --out DIR`; null uses <repo>/dist/glue."
  type        = string
  default     = null
}

variable "bucket_suffix" {
  description = "Suffix that makes bucket names globally unique; null uses the AWS account id."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy delete buckets that still hold objects."
  type        = bool
  default     = true
}

variable "enforce_secure_transport" {
  description = "Bucket policies deny requests not made over TLS. Turn off only for emulators that do not fill aws:SecureTransport."
  type        = bool
  default     = true
}

variable "glue_number_of_workers" {
  description = "Glue workers per cleaning run."
  type        = number
  default     = 2

  validation {
    condition     = var.glue_number_of_workers >= 2 && var.glue_number_of_workers <= 100
    error_message = "glue_number_of_workers must be between 2 and 100."
  }
}

variable "schedule_enabled" {
  description = "Whether the monthly retrain schedule fires."
  type        = bool
  default     = true
}

variable "alert_emails" {
  description = "Email addresses subscribed to failure and low-stock alerts."
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
  description = "Existing IAM roles that run Dagster (ECS task role, EC2 instance role); the Dagster policy is attached to each."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags for every resource (project, environment and managed-by are always set)."
  type        = map(string)
  default     = {}
}

variable "dagster_hosting" {
  description = "Run Dagster itself in this account (ECS Fargate services, RDS, a load balancer). Off: run Dagster elsewhere with the platform's outputs."
  type        = bool
  default     = true
}

variable "dagster_image_tag" {
  description = "Tag of the code-location image in the ECR repository (the git SHA the deploy pushed)."
  type        = string
  default     = "bootstrap"
}

variable "dagster_ui_allowed_cidrs" {
  description = "CIDR blocks that may reach the Dagster UI (default: private networks, e.g. over a VPN, with an internal load balancer)."
  type        = list(string)
  default     = ["10.0.0.0/8"]
}

variable "dagster_internal_load_balancer" {
  description = "Whether the UI's load balancer is internal (reached over a VPN or peering into its VPC). null: internal while dagster_ui_allowed_cidrs are all private, internet-facing otherwise (then set dagster_certificate_arn and a sign-in)."
  type        = bool
  default     = null
}

variable "dagster_cognito" {
  description = "Sign-in through a Cognito user pool before the UI (needs dagster_certificate_arn): user_pool_arn, user_pool_client_id, user_pool_domain."
  type = object({
    user_pool_arn       = string
    user_pool_client_id = string
    user_pool_domain    = string
  })
  default = null
}

variable "dagster_oidc" {
  description = "Sign-in through an OIDC provider before the UI (needs dagster_certificate_arn); the client secret is read from Secrets Manager by client_secret_secret_arn."
  type = object({
    issuer                   = string
    authorization_endpoint   = string
    token_endpoint           = string
    user_info_endpoint       = string
    client_id                = string
    client_secret_secret_arn = string
  })
  default = null
}

variable "dagster_certificate_arn" {
  description = "ACM certificate for HTTPS on the Dagster UI; null serves HTTP to the allowed CIDRs only."
  type        = string
  default     = null
}

variable "dagster_vpc_id" {
  description = "Existing VPC for Dagster; null makes a minimal one."
  type        = string
  default     = null
}

variable "dagster_private_subnet_ids" {
  description = "Private subnets of dagster_vpc_id (tasks and database)."
  type        = list(string)
  default     = []
}

variable "dagster_public_subnet_ids" {
  description = "Public subnets of dagster_vpc_id (the UI's load balancer)."
  type        = list(string)
  default     = []
}

variable "dagster_egress" {
  description = "How the Dagster tasks reach AWS APIs in the VPC the module makes: nat or endpoints."
  type        = string
  default     = "nat"
}

variable "dagster_run_start_timeout_seconds" {
  description = "Seconds a run's Fargate task may take to start (pulling the multi-GB image included) before run monitoring fails the run and retries it once."
  type        = number
  default     = 600
}

variable "quicksight_enabled" {
  description = "Add QuickSight over the Athena tables (data source, data sets, planner dashboard). Needs a QuickSight subscription in the account."
  type        = bool
  default     = false
}

variable "quicksight_principal_arn" {
  description = "QuickSight user or group given the data sets and the dashboard (needed when quicksight_enabled)"
  type        = string
  default     = ""
}
