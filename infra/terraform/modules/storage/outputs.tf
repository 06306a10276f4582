output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the buckets, logs and jobs."
  value       = aws_kms_key.this.arn
}

output "raw_bucket" {
  description = "Bucket for raw/ (landed Kaggle files) and the landing/ upload prefix."
  value       = aws_s3_bucket.this["raw"].id
}

output "processed_bucket" {
  description = "Bucket for processed/ (cleaned series)."
  value       = aws_s3_bucket.this["processed"].id
}

output "artifacts_bucket" {
  description = "Bucket for training channels, models, evaluation, forecasts, plots, Glue scripts and Pipes messages."
  value       = aws_s3_bucket.this["artifacts"].id
}

output "bucket_arns" {
  description = "ARNs of the raw, processed and artifacts buckets, by role."
  value       = { for role, bucket in aws_s3_bucket.this : role => bucket.arn }
}

output "access_log_bucket" {
  description = "Bucket receiving S3 server access logs."
  value       = aws_s3_bucket.logs.id
}
