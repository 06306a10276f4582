# The Dagster instance's PostgreSQL: private, encrypted with the platform key, backed up. RDS makes the master
# password and keeps it in Secrets Manager (encrypted with the same key); the tasks get it as an ECS secret by ARN,
# so it is never in a task definition's environment, an output, or the Terraform state. Its rotation, and the
# redeploy that follows it, are in rotation.tf.

resource "aws_db_subnet_group" "this" {
  name       = "${var.name}-dagster"
  subnet_ids = local.private_subnet_ids
  tags       = var.tags
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-dagster-pg16"
  family = "postgres16"
  tags   = var.tags

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "2000"
  }
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:One instance is enough for Dagster's run history (a restore from the automated backups is the recovery); db_multi_az turns on a standby.
  #checkov:skip=CKV_AWS_161:Dagster connects with a password (dagster-postgres has no IAM token refresh); the password is RDS-managed and rotated in Secrets Manager.
  #checkov:skip=CKV_AWS_118:Enhanced monitoring costs a role and per-second metrics this small database does not need; CloudWatch's standard metrics and the exported logs cover it.
  identifier     = "${var.name}-dagster"
  engine         = "postgres"
  engine_version = "16"
  instance_class = var.db_instance_class
  db_name        = "dagster"
  username       = "dagster"

  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_allocated_storage * 4
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period    = var.db_backup_retention_days
  backup_window              = "01:00-02:00"
  maintenance_window         = "sun:02:30-sun:03:30"
  copy_tags_to_snapshot      = true
  deletion_protection        = var.db_deletion_protection
  skip_final_snapshot        = !var.db_deletion_protection
  final_snapshot_identifier  = var.db_deletion_protection ? "${var.name}-dagster-final" : null
  auto_minor_version_upgrade = true
  apply_immediately          = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  tags = var.tags
}

locals {
  db_secret_arn = aws_db_instance.this.master_user_secret[0].secret_arn
}
