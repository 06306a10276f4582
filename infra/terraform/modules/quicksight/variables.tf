variable "name_prefix" {
  description = "Prefix of every QuickSight id and name, e.g. favorita-dev"
  type        = string
}

variable "athena_workgroup" {
  description = "Athena workgroup the data source queries through (the etl module's)"
  type        = string
}

variable "glue_database" {
  description = "Glue database holding the forecasts and replenishment_plan tables"
  type        = string
}

variable "forecasts_table" {
  description = "Glue table of the forecasts"
  type        = string
  default     = "forecasts"
}

variable "replenishment_table" {
  description = "Glue table of the replenishment plans"
  type        = string
  default     = "replenishment_plan"
}

variable "principal_arn" {
  description = "QuickSight user or group ARN given the data source, the data sets and the dashboard (arn:aws:quicksight:REGION:ACCOUNT:user/default/NAME or group/default/NAME)"
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/[^/]+/.+$", var.principal_arn))
    error_message = "principal_arn must be a QuickSight user or group ARN, such as arn:aws:quicksight:eu-west-1:123456789012:group/default/planners."
  }
}

variable "artifacts_bucket" {
  description = "Bucket holding the tables' Parquet files (forecasts/, forecast_totals/, replenishment_plan/) and the Athena results (athena-results/)."
  type        = string
}

variable "kms_key_arn" {
  description = "The platform's KMS key, which encrypts the tables and the query results."
  type        = string
}

variable "service_role_name" {
  description = "QuickSight's service role in this account (made when the account subscribes; its name in the QuickSight console under Manage QuickSight > Security & permissions)."
  type        = string
  default     = "aws-quicksight-service-role-v0"
}

variable "tags" {
  description = "Tags on every resource"
  type        = map(string)
  default     = {}
}
