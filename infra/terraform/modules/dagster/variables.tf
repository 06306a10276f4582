variable "name" {
  description = "Name prefix of every resource, e.g. favorita-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,22}[a-z0-9]$", var.name))
    error_message = "name must be 4-24 lowercase letters, digits or hyphens, starting with a letter (ALB and target-group names allow 32 characters)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "The platform's KMS key: it encrypts the database, its master secret, the image repository and the logs."
  type        = string
}

variable "dagster_policy_arn" {
  description = "The Dagster policy of the iam module: attached to the role of every run and of the code server (sensors read the event queue)."
  type        = string
}

variable "compute_log_bucket" {
  description = "Bucket (the artifacts bucket) that receives the runs' stdout and stderr under compute-logs/."
  type        = string
}

variable "platform_environment" {
  description = "FAVORITA_* settings of the aws deployment (buckets, Glue job, SageMaker role, queue, topic), given to the code server and every run."
  type        = map(string)
  default     = {}
}

variable "image_tag" {
  description = "Tag of the code-location image in the ECR repository (the git SHA the deploy pushed). Rollback: apply an earlier one."
  type        = string
  default     = "bootstrap"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a Docker tag: letters, digits, _ . - (at most 128, not starting with . or -)."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "Existing VPC to run in; null makes a minimal one (two private and two public subnets)."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two zones) of an existing VPC, for the tasks and the database. Required with vpc_id."
  type        = list(string)
  default     = []
}

variable "public_subnet_ids" {
  description = "Subnets of an existing VPC for an internet-facing load balancer (private ones for an internal one). Required with vpc_id."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC the module makes (vpc_id null)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR block of /20 or larger."
  }
}

variable "egress" {
  description = "How the module's private subnets reach AWS APIs: nat (one NAT gateway) or endpoints (VPC endpoints for S3, ECR, logs, SQS, SNS, SageMaker, Glue, Secrets Manager, STS; no internet)."
  type        = string
  default     = "nat"

  validation {
    condition     = contains(["nat", "endpoints"], var.egress)
    error_message = "egress must be nat or endpoints."
  }
}

################################################################################
# The UI
################################################################################

variable "model_backend" {
  description = "The platform's model backend (sagemaker-deepar or amazon-forecast): with egress = \"endpoints\", amazon-forecast also gets Amazon Forecast's interface endpoint."
  type        = string
  default     = "sagemaker-deepar"

  validation {
    condition     = contains(["sagemaker-deepar", "amazon-forecast"], var.model_backend)
    error_message = "model_backend must be sagemaker-deepar or amazon-forecast."
  }
}

variable "ui_allowed_cidrs" {
  description = "CIDR blocks that may reach the UI's load balancer (the office, the VPN). Nothing else gets in."
  type        = list(string)

  validation {
    condition     = length(var.ui_allowed_cidrs) > 0 && alltrue([for c in var.ui_allowed_cidrs : can(cidrnetmask(c))])
    error_message = "ui_allowed_cidrs must list at least one IPv4 CIDR block."
  }
}

variable "internal_load_balancer" {
  description = "Make the load balancer internal (in the private subnets, reachable only from the VPC and the networks joined to it: a VPN, peering, Direct Connect). null: internal when every ui_allowed_cidrs block is private (RFC 1918), internet-facing otherwise. An internet-facing one with only private CIDRs is refused: no client of the internet presents a private address."
  type        = bool
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS on 443; then port 80 only redirects. null serves plain HTTP on 80 (inside a VPN only)."
  type        = string
  default     = null
}

variable "oidc" {
  description = "Sign-in through an OIDC provider before the UI (needs certificate_arn). client_secret is read from Secrets Manager by the ARN given."
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

variable "cognito" {
  description = "Sign-in through a Cognito user pool before the UI (needs certificate_arn)."
  type = object({
    user_pool_arn       = string
    user_pool_client_id = string
    user_pool_domain    = string
  })
  default = null
}

variable "access_log_bucket" {
  description = "Bucket (SSE-S3) that receives the load balancer's access logs under alb/."
  type        = string
}

################################################################################
# Sizes
################################################################################

variable "service_sizes" {
  description = "Fargate CPU units and memory (MiB) of the long-running services."
  type        = map(object({ cpu = number, memory = number }))
  default = {
    webserver   = { cpu = 1024, memory = 2048 }
    daemon      = { cpu = 512, memory = 2048 }
    code_server = { cpu = 1024, memory = 4096 }
  }

  validation {
    condition     = length(setsubtract(["webserver", "daemon", "code_server"], keys(var.service_sizes))) == 0
    error_message = "service_sizes must size webserver, daemon and code_server."
  }

  # Fargate's own table of CPU and memory pairs (ECS refuses any other at RunTask or service creation).
  validation {
    condition = alltrue([for s in values(var.service_sizes) : contains(lookup({
      "256"   = [512, 1024, 2048]
      "512"   = range(1024, 4097, 1024)
      "1024"  = range(2048, 8193, 1024)
      "2048"  = range(4096, 16385, 1024)
      "4096"  = range(8192, 30721, 1024)
      "8192"  = range(16384, 61441, 4096)
      "16384" = range(32768, 122881, 8192)
    }, tostring(s.cpu), []), s.memory)])
    error_message = "Each service size must be a Fargate CPU/memory pair: 256 with 512-2048, 512 with 1024-4096, 1024 with 2048-8192, 2048 with 4096-16384, 4096 with 8192-30720 (MiB, in steps of 1024), 8192 with 16384-61440 (steps of 4096), 16384 with 32768-122880 (steps of 8192)."
  }
}

variable "run_size" {
  description = "Default Fargate CPU units and memory (MiB) of each run's task; a run's ecs/cpu and ecs/memory tags override it."
  type        = object({ cpu = number, memory = number })
  default     = { cpu = 2048, memory = 8192 }

  validation {
    condition = contains(lookup({
      "256"   = [512, 1024, 2048]
      "512"   = range(1024, 4097, 1024)
      "1024"  = range(2048, 8193, 1024)
      "2048"  = range(4096, 16385, 1024)
      "4096"  = range(8192, 30721, 1024)
      "8192"  = range(16384, 61441, 4096)
      "16384" = range(32768, 122881, 8192)
    }, tostring(var.run_size.cpu), []), var.run_size.memory)
    error_message = "run_size must be a Fargate CPU/memory pair (see service_sizes)."
  }
}

variable "run_start_timeout_seconds" {
  description = "Seconds a run's Fargate task may take to start before run monitoring fails the run (and run retries launch it once more). Fargate caches no image: each run task pulls the whole image, several GB, first."
  type        = number
  default     = 600

  validation {
    condition     = var.run_start_timeout_seconds >= 60 && var.run_start_timeout_seconds <= 3600 && floor(var.run_start_timeout_seconds) == var.run_start_timeout_seconds
    error_message = "run_start_timeout_seconds must be whole seconds from 60 to 3600."
  }
}

variable "db_instance_class" {
  description = "RDS instance class of the Dagster database."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_password_rotation_schedule" {
  description = "When Secrets Manager rotates the database password (a cron() or rate() expression, UTC); the services are redeployed right after each rotation. By default the first Sunday of every third month, in the database's maintenance window."
  type        = string
  default     = "cron(0 3 ? 1/3 SUN#1 *)"

  validation {
    condition     = can(regex("^(cron\\(.+\\)|rate\\([0-9]+ (days?|hours?)\\))$", var.db_password_rotation_schedule))
    error_message = "db_password_rotation_schedule must be a Secrets Manager schedule: cron(...) or rate(N days), e.g. cron(0 3 ? 1/3 SUN#1 *)."
  }
}

variable "db_allocated_storage" {
  description = "Storage of the Dagster database, GiB (it autoscales up to four times this)."
  type        = number
  default     = 20
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery) of the Dagster database."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be 1-35 (0 would turn backups off)."
  }
}

variable "db_deletion_protection" {
  description = "Refuse to delete the Dagster database (turn off to destroy the environment)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days the services' and runs' CloudWatch logs are kept."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Let terraform destroy delete the image repository while it still holds images."
  type        = bool
  default     = false
}

variable "db_multi_az" {
  description = "Keep a standby of the Dagster database in a second zone (doubles its cost)."
  type        = bool
  default     = false
}

variable "load_balancer_deletion_protection" {
  description = "Refuse to delete the UI's load balancer (turn off to destroy the environment)."
  type        = bool
  default     = true
}

variable "availability_zones" {
  description = "The two zones of the VPC the module makes; null uses the region's a and b."
  type        = list(string)
  default     = null

  validation {
    condition     = var.availability_zones == null || length(coalesce(var.availability_zones, [])) == 2
    error_message = "availability_zones must name exactly two zones."
  }
}
