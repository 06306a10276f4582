# The module's promises, checked with `terraform test` against a mocked AWS provider (no account, no emulator):
# the data source reads through the platform's Athena workgroup over TLS, both data sets query the Glue tables
# directly (no SPICE copy that could go stale), the dashboard is made from the template with both data sets bound
# to its placeholders, only the given principal is granted anything, and a principal that is not a QuickSight user
# or group is refused before anything is created.
#
#   cd infra/terraform/modules/quicksight && terraform init -plugin-dir=... && terraform test

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_quicksight_data_source" {
    defaults = {
      arn = "arn:aws:quicksight:eu-west-1:123456789012:datasource/mock"
    }
  }

  mock_resource "aws_quicksight_data_set" {
    defaults = {
      arn = "arn:aws:quicksight:eu-west-1:123456789012:dataset/mock"
    }
  }

  mock_resource "aws_quicksight_template" {
    defaults = {
      arn = "arn:aws:quicksight:eu-west-1:123456789012:template/mock"
    }
  }
}

variables {
  name_prefix      = "favorita-dev"
  athena_workgroup = "favorita-dev"
  glue_database    = "favorita_dev"
  principal_arn    = "arn:aws:quicksight:eu-west-1:123456789012:group/default/planners"
  artifacts_bucket = "favorita-dev-artifacts-123456789012"
  kms_key_arn      = "arn:aws:kms:eu-west-1:123456789012:key/mock"
}

run "athena_tables_behind_a_template_dashboard" {
  command = apply

  assert {
    condition     = aws_quicksight_data_source.athena.type == "ATHENA" && aws_quicksight_data_source.athena.parameters[0].athena[0].work_group == "favorita-dev"
    error_message = "the data source must query through the platform's Athena workgroup"
  }

  assert {
    condition     = aws_quicksight_data_source.athena.ssl_properties[0].disable_ssl == false
    error_message = "the data source must keep TLS"
  }

  assert {
    condition = alltrue([for ds in [aws_quicksight_data_set.forecasts, aws_quicksight_data_set.replenishment_plan] :
    ds.import_mode == "DIRECT_QUERY" && alltrue([for t in ds.physical_table_map : t.relational_table[0].schema == "favorita_dev"])])
    error_message = "both data sets must query the Glue tables directly"
  }

  assert {
    condition     = [for t in aws_quicksight_data_set.replenishment_plan.physical_table_map : t.relational_table[0].name] == ["replenishment_plan"] && [for t in aws_quicksight_data_set.forecasts.physical_table_map : t.relational_table[0].name] == ["forecasts"]
    error_message = "the data sets must read the forecasts and replenishment_plan tables"
  }

  assert {
    condition     = toset([for r in aws_quicksight_dashboard.planner.source_entity[0].source_template[0].data_set_references : r.data_set_placeholder]) == toset(["plan", "forecasts"])
    error_message = "the dashboard must bind both data sets to the template's placeholders"
  }

  assert {
    condition = toset(flatten([
      [for p in aws_quicksight_data_source.athena.permission : p.principal],
      [for p in aws_quicksight_data_set.forecasts.permissions : p.principal],
      [for p in aws_quicksight_data_set.replenishment_plan.permissions : p.principal],
      [for p in aws_quicksight_template.planner.permissions : p.principal],
      [for p in aws_quicksight_dashboard.planner.permissions : p.principal],
    ])) == toset([var.principal_arn])
    error_message = "only the given principal may be granted anything"
  }
}

run "a_principal_that_is_not_quicksights_is_refused" {
  command = plan

  variables {
    principal_arn = "arn:aws:iam::123456789012:role/planners"
  }

  expect_failures = [var.principal_arn]
}

run "quicksights_service_role_may_read_the_tables_write_results_and_use_the_key" {
  command = plan

  assert {
    condition     = aws_iam_role_policy.service_role.role == "aws-quicksight-service-role-v0"
    error_message = "The grant must be on QuickSight's service role (it runs the Athena queries)."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.service_role.statement : s.resources if contains(s.actions, "s3:GetObject")])) == toset([
      "arn:aws:s3:::favorita-dev-artifacts-123456789012/forecasts/*",
      "arn:aws:s3:::favorita-dev-artifacts-123456789012/forecast_totals/*",
      "arn:aws:s3:::favorita-dev-artifacts-123456789012/replenishment_plan/*",
      "arn:aws:s3:::favorita-dev-artifacts-123456789012/athena-results/*",
    ])
    error_message = "The role must read the three tables and the query results, and nothing else in the bucket."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.service_role.statement : s.resources if contains(s.actions, "s3:PutObject")])) == toset([
      "arn:aws:s3:::favorita-dev-artifacts-123456789012/athena-results/*",
    ])
    error_message = "The role may write only the Athena results location."
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.service_role.statement : contains(s.actions, "kms:Decrypt") && s.resources == toset(["arn:aws:kms:eu-west-1:123456789012:key/mock"])])
    error_message = "The role must decrypt with the platform key (the tables and results are encrypted with it)."
  }
}
