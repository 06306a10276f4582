# QuickSight over the platform's Athena tables: one Athena data source, a data set over the forecasts and one over
# the replenishment plans (direct query: QuickSight reads the tables as the runs write them), and a planner
# dashboard made from a template: a table of the plan, worst risks first, and the forecast per store and family.
# Off by default in the roots: QuickSight needs an account subscription (Enterprise edition for the permissions).

locals {
  id = replace(var.name_prefix, "/[^A-Za-z0-9_-]/", "-")
  forecast_columns = {
    date         = "DATETIME", store_nbr = "INTEGER", family = "STRING", days_ahead = "INTEGER", store_closed = "BIT",
    mean         = "DECIMAL", p10 = "DECIMAL", p50 = "DECIMAL", p90 = "DECIMAL", model_version = "STRING",
    cutoff_month = "STRING",
  }
  plan_columns = {
    store_nbr           = "INTEGER", city = "STRING", store_type = "STRING", family = "STRING", order_date = "DATETIME",
    arrival_date        = "DATETIME", stock_position = "DECIMAL", lead_time_days = "INTEGER",
    review_period_days  = "INTEGER", demand_mean = "DECIMAL", demand_p90 = "DECIMAL", service_level = "DECIMAL",
    order_up_to         = "DECIMAL", order_quantity = "DECIMAL", p_stockout_before_arrival = "DECIMAL",
    p_stockout_no_order = "DECIMAL", days_of_cover = "DECIMAL", stockout_risk = "BIT", overstock = "BIT",
    expected_cost       = "DECIMAL", money_at_risk = "DECIMAL", order_value = "DECIMAL", model_version = "STRING",
    cutoff_month        = "STRING",
  }
  # QuickSight's input column types, by the template's column data types
  input_types    = { DATETIME = "DATETIME", INTEGER = "INTEGER", STRING = "STRING", BIT = "BIT", DECIMAL = "DECIMAL" }
  template_types = { DATETIME = "DATETIME", INTEGER = "INTEGER", STRING = "STRING", BIT = "INTEGER", DECIMAL = "DECIMAL" }
  plan_table_columns = ["store_nbr", "city", "family", "order_date", "arrival_date", "stockout_risk", "overstock",
  "stock_position", "demand_p90", "order_up_to", "order_quantity", "p_stockout_before_arrival", "days_of_cover", "cutoff_month"]
  read_data_set = ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
  "quicksight:DescribeIngestion", "quicksight:ListIngestions"]
}

resource "aws_quicksight_data_source" "athena" {
  data_source_id = "${local.id}-athena"
  name           = "${var.name_prefix} Athena"
  type           = "ATHENA"

  parameters {
    athena {
      work_group = var.athena_workgroup
    }
  }

  ssl_properties {
    disable_ssl = false
  }

  permission {
    principal = var.principal_arn
    actions = ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource"]
  }

  tags = var.tags
}

resource "aws_quicksight_data_set" "forecasts" {
  data_set_id = "${local.id}-forecasts"
  name        = "${var.name_prefix} forecasts"
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "forecasts"
    relational_table {
      data_source_arn = aws_quicksight_data_source.athena.arn
      catalog         = "AwsDataCatalog"
      schema          = var.glue_database
      name            = var.forecasts_table
      dynamic "input_columns" {
        for_each = local.forecast_columns
        content {
          name = input_columns.key
          type = local.input_types[input_columns.value]
        }
      }
    }
  }

  permissions {
    principal = var.principal_arn
    actions   = local.read_data_set
  }

  tags = var.tags
}

resource "aws_quicksight_data_set" "replenishment_plan" {
  data_set_id = "${local.id}-replenishment-plan"
  name        = "${var.name_prefix} replenishment plan"
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "plan"
    relational_table {
      data_source_arn = aws_quicksight_data_source.athena.arn
      catalog         = "AwsDataCatalog"
      schema          = var.glue_database
      name            = var.replenishment_table
      dynamic "input_columns" {
        for_each = local.plan_columns
        content {
          name = input_columns.key
          type = local.input_types[input_columns.value]
        }
      }
    }
  }

  permissions {
    principal = var.principal_arn
    actions   = local.read_data_set
  }

  tags = var.tags
}

# The template: one sheet with the plan as a table and the forecast's daily mean and band as a table per series.
resource "aws_quicksight_template" "planner" {
  template_id         = "${local.id}-planner"
  name                = "${var.name_prefix} planner"
  version_description = "Replenishment plan and forecasts"

  definition {
    data_set_configuration {
      placeholder = "plan"
      data_set_schema {
        dynamic "column_schema_list" {
          for_each = local.plan_columns
          content {
            name      = column_schema_list.key
            data_type = local.template_types[column_schema_list.value]
          }
        }
      }
    }
    data_set_configuration {
      placeholder = "forecasts"
      data_set_schema {
        dynamic "column_schema_list" {
          for_each = local.forecast_columns
          content {
            name      = column_schema_list.key
            data_type = local.template_types[column_schema_list.value]
          }
        }
      }
    }

    sheets {
      sheet_id = "planner"
      name     = "Replenishment"
      title    = "Replenishment plan and forecasts"

      visuals {
        table_visual {
          visual_id = "plan"
          title {
            format_text {
              plain_text = "Replenishment plan (sort by P(stockout before arrival))"
            }
          }
          chart_configuration {
            field_wells {
              table_unaggregated_field_wells {
                dynamic "values" {
                  for_each = local.plan_table_columns
                  content {
                    field_id = "plan.${values.value}"
                    column {
                      data_set_identifier = "plan"
                      column_name         = values.value
                    }
                  }
                }
              }
            }
          }
        }
      }

      visuals {
        table_visual {
          visual_id = "forecasts"
          title {
            format_text {
              plain_text = "Forecast per store, family and day: mean and P10-P90"
            }
          }
          chart_configuration {
            field_wells {
              table_unaggregated_field_wells {
                dynamic "values" {
                  for_each = ["cutoff_month", "date", "store_nbr", "family", "mean", "p10", "p90", "model_version"]
                  content {
                    field_id = "forecasts.${values.value}"
                    column {
                      data_set_identifier = "forecasts"
                      column_name         = values.value
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  permissions {
    principal = var.principal_arn
    actions   = ["quicksight:DescribeTemplate", "quicksight:DescribeTemplatePermissions"]
  }

  tags = var.tags
}

resource "aws_quicksight_dashboard" "planner" {
  dashboard_id        = "${local.id}-planner"
  name                = "${var.name_prefix} planner"
  version_description = "From the planner template"

  source_entity {
    source_template {
      arn = aws_quicksight_template.planner.arn
      data_set_references {
        data_set_placeholder = "plan"
        data_set_arn         = aws_quicksight_data_set.replenishment_plan.arn
      }
      data_set_references {
        data_set_placeholder = "forecasts"
        data_set_arn         = aws_quicksight_data_set.forecasts.arn
      }
    }
  }

  permissions {
    principal = var.principal_arn
    actions = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard",
    "quicksight:DescribeDashboardPermissions"]
  }

  tags = var.tags
}

# QuickSight runs Athena queries as its service role: that role must read the tables' objects, write the query results
# under athena-results/ and use the platform key for both. (AWS's managed policy on the role covers Athena and the
# Glue catalog, not this account's buckets or key.) The role exists once the account subscribes to QuickSight.
data "aws_iam_policy_document" "service_role" {
  statement {
    sid       = "ListTheTablesAndResults"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.artifacts_bucket}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["", "forecasts/*", "forecast_totals/*", "replenishment_plan/*", "athena-results/*"]
    }
  }

  statement {
    sid       = "ReadTheTables"
    actions   = ["s3:GetObject"]
    resources = [for prefix in ["forecasts", "forecast_totals", "replenishment_plan", "athena-results"] : "arn:${data.aws_partition.current.partition}:s3:::${var.artifacts_bucket}/${prefix}/*"]
  }

  statement {
    sid       = "WriteQueryResults"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.artifacts_bucket}/athena-results/*"]
  }

  statement {
    sid       = "UseThePlatformKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

data "aws_partition" "current" {}

resource "aws_iam_role_policy" "service_role" {
  name   = "${local.id}-athena-data"
  role   = var.service_role_name
  policy = data.aws_iam_policy_document.service_role.json
}
