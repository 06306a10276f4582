output "model_package_group_name" {
  description = "Name of the model registry's package group."
  value       = aws_sagemaker_model_package_group.this.model_package_group_name
}

output "model_package_group_arn" {
  description = "ARN of the model registry's package group."
  value       = aws_sagemaker_model_package_group.this.arn
}
