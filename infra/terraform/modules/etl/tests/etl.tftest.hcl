# The module's promises, checked with `terraform test` against a mocked AWS provider: the job writes its logs where
# Glue 5.0 puts them (--custom-logGroup-prefix, not the 4.0 continuous-logging options it ignores), to groups this
# module made, encrypted; a worker type a glueetl job cannot use is refused.
#
#   cd infra/terraform/modules/etl && terraform init -plugin-dir=... && terraform test

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  name              = "favorita-test"
  job_name          = "favorita-test-clean-series"
  glue_role_arn     = "arn:aws:iam::123456789012:role/favorita-test-glue"
  artifacts_bucket  = "favorita-test-artifacts"
  kms_key_arn       = "arn:aws:kms:eu-west-1:123456789012:key/mock"
  glue_script_path  = "main.tf" # any file: the mocked upload only hashes it
  glue_package_path = "variables.tf"
  log_group_name    = "/aws-glue/favorita-test"
}

run "glue_5_logs_go_to_the_prefix_the_role_may_write" {
  command = apply

  assert {
    condition     = aws_glue_job.clean_series.glue_version == "5.0" && aws_glue_job.clean_series.default_arguments["--custom-logGroup-prefix"] == "/aws-glue/favorita-test"
    error_message = "Glue 5.0 must be told the log group prefix (--custom-logGroup-prefix), or it writes to /aws-glue/jobs."
  }

  assert {
    condition     = length(setintersection(keys(aws_glue_job.clean_series.default_arguments), ["--enable-continuous-cloudwatch-log", "--continuous-log-logGroup"])) == 0
    error_message = "Glue 5.0 ignores the 4.0 continuous-logging options: they must not suggest the logs go elsewhere."
  }

  assert {
    condition = output.log_group_names == [
      "/aws-glue/favorita-test/output",
      "/aws-glue/favorita-test/error",
      "/aws-glue/favorita-test-favorita-test-glue-favorita-test-glue/output",
      "/aws-glue/favorita-test-favorita-test-glue-favorita-test-glue/error",
    ]
    error_message = "The job's log groups: <prefix>/output and /error, and with the security configuration <prefix>-<role>-<configuration>/output and /error."
  }

  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.glue : g.kms_key_id == var.kms_key_arn && g.retention_in_days == 365])
    error_message = "Every log group of the job must be encrypted with the platform key and keep its logs a year."
  }
}

run "a_prefix_glue_refuses_is_refused" {
  command = plan

  variables {
    log_group_name = "/aws-glue/favorita:test"
  }

  expect_failures = [var.log_group_name]
}

run "a_streaming_only_worker_type_is_refused" {
  command = plan

  variables {
    worker_type = "G.025X"
  }

  expect_failures = [var.worker_type]
}
