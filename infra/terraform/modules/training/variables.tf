variable "model_package_group_name" {
  description = "Name of the SageMaker model package group (the model registry), e.g. favorita-dev-deepar."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.model_package_group_name))
    error_message = "model_package_group_name must be 1-63 letters, digits or single hyphens."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
