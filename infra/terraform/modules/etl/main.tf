# ETL: the Glue job that cleans the raw sales and builds the DeepAR channels (its script and the shared pure package
# uploaded from the repo), its logs and security configuration, and a Glue Data Catalog database with a table over
# the forecasts that Athena and QuickSight read, plus an Athena workgroup whose results stay encrypted in the
# artifacts bucket.

data "aws_partition" "current" {}

locals {
  script_key  = "glue/clean_series_job.py"
  package_key = "glue/favorita_core.zip"
  # Glue database and table names allow only lowercase letters, digits and underscores.
  database_name = replace(var.name, "-", "_")
  # Both tables: Parquet, one partition per monthly cut-off, found by partition projection.
  monthly_parquet = {
    "classification"                        = "parquet"
    "EXTERNAL"                              = "TRUE"
    "parquet.compression"                   = "SNAPPY"
    "projection.enabled"                    = "true"
    "projection.cutoff_month.type"          = "date"
    "projection.cutoff_month.format"        = "yyyy-MM"
    "projection.cutoff_month.range"         = "${var.first_cutoff_month},NOW"
    "projection.cutoff_month.interval"      = "1"
    "projection.cutoff_month.interval.unit" = "MONTHS"
  }
}

resource "aws_s3_object" "script" {
  bucket      = var.artifacts_bucket
  key         = local.script_key
  source      = var.glue_script_path
  source_hash = filemd5(var.glue_script_path) # a changed script is uploaded again
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_s3_object" "package" {
  bucket      = var.artifacts_bucket
  key         = local.package_key
  source      = var.glue_package_path
  source_hash = filemd5(var.glue_package_path)
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

# Glue 5.0 writes a job's logs to <prefix>/output (stdout, stderr) and <prefix>/error (driver, executors, Spark), the
# prefix given by --custom-logGroup-prefix (without it, /aws-glue/jobs, which the role may not write). With a security
# configuration that encrypts CloudWatch logs, AWS documents the groups as <prefix>-<role>-<configuration>/...: both
# pairs are made here (the platform key, the retention) and only these four are granted to the job's role.
locals {
  glue_role_name         = regex("[^/]+$", var.glue_role_arn)
  security_configuration = "${var.name}-glue"
  encrypted_logs_prefix  = "${var.log_group_name}-${local.glue_role_name}-${local.security_configuration}"
  log_group_names = {
    output           = "${var.log_group_name}/output"
    error            = "${var.log_group_name}/error"
    encrypted_output = "${local.encrypted_logs_prefix}/output"
    encrypted_error  = "${local.encrypted_logs_prefix}/error"
  }
}

resource "aws_cloudwatch_log_group" "glue" {
  for_each          = local.log_group_names # static keys: the role's name is known only once it exists
  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_glue_security_configuration" "this" {
  name = local.security_configuration

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

resource "aws_glue_job" "clean_series" {
  name                   = var.job_name
  description            = "Favorita: raw sales to per-series daily rows (--task clean), cleaned series to DeepAR channels (--task channels), the backtest's challengers (--task challengers)"
  role_arn               = var.glue_role_arn
  glue_version           = var.glue_version
  worker_type            = var.worker_type
  number_of_workers      = var.number_of_workers
  timeout                = var.timeout_minutes
  max_retries            = 0 # Dagster decides whether to run again
  execution_class        = "STANDARD"
  security_configuration = aws_glue_security_configuration.this.name
  depends_on             = [aws_cloudwatch_log_group.glue] # its groups exist, encrypted, before its first run

  command {
    name            = "glueetl"
    script_location = "s3://${var.artifacts_bucket}/${aws_s3_object.script.key}"
    python_version  = "3"
  }

  execution_property {
    max_concurrent_runs = var.max_concurrent_runs
  }

  default_arguments = {
    "--extra-py-files"            = "s3://${var.artifacts_bucket}/${aws_s3_object.package.key}"
    "--additional-python-modules" = var.additional_python_modules
    "--job-language"              = "python"
    "--TempDir"                   = "s3://${var.artifacts_bucket}/glue-temp/"
    "--enable-metrics"            = "true"
    "--custom-logGroup-prefix"    = var.log_group_name
    "--engine"                    = var.default_engine
  }

  tags = var.tags
}

resource "aws_glue_catalog_database" "this" {
  name        = local.database_name
  description = "Favorita forecast platform: forecasts for Athena and QuickSight"
  tags        = var.tags
}

# The forecasts asset writes forecasts/cutoff_month=YYYY-MM/forecasts.parquet; partition projection finds every
# month without a crawler or MSCK REPAIR.
resource "aws_glue_catalog_table" "forecasts" {
  name          = "forecasts"
  database_name = aws_glue_catalog_database.this.name
  description   = "Daily forecasts per store and family: mean and P10/P50/P90, one partition per monthly cut-off"
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.monthly_parquet, {
    "storage.location.template" = "s3://${var.artifacts_bucket}/forecasts/cutoff_month=$${cutoff_month}/"
  })

  partition_keys {
    name    = "cutoff_month"
    type    = "string"
    comment = "Month whose last day is the forecast's cut-off, YYYY-MM"
  }

  storage_descriptor {
    location      = "s3://${var.artifacts_bucket}/forecasts/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    columns {
      name    = "date"
      type    = "date"
      comment = "Forecast day"
    }
    columns {
      name    = "store_nbr"
      type    = "bigint"
      comment = "Store number (stores.csv)"
    }
    columns {
      name    = "family"
      type    = "string"
      comment = "Product family"
    }
    columns {
      name    = "days_ahead"
      type    = "bigint"
      comment = "Days after the cut-off: 1 is the day after"
    }
    columns {
      name    = "store_closed"
      type    = "boolean"
      comment = "A closure known ahead (25 December, the store's yearly closures): forecast 0"
    }
    columns {
      name    = "mean"
      type    = "double"
      comment = "Mean forecast of unit sales"
    }
    columns {
      name    = "p10"
      type    = "double"
      comment = "10% quantile"
    }
    columns {
      name    = "p50"
      type    = "double"
      comment = "Median"
    }
    columns {
      name    = "p90"
      type    = "double"
      comment = "90% quantile"
    }
    columns {
      name    = "model_version"
      type    = "string"
      comment = "What was published for this series: its family's backtest champion (deepar-, lightgbm-, mfles-, croston-, baseline-)"
    }
  }
}

# The forecast_drivers asset writes forecast_drivers/cutoff_month=YYYY-MM/drivers.parquet: what drives each
# forecast, in units per store x family and day (LightGBM's own feature contributions).
resource "aws_glue_catalog_table" "forecast_drivers" {
  name          = "forecast_drivers"
  database_name = aws_glue_catalog_database.this.name
  description   = "What drives each forecast, in units per store x family and day"
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.monthly_parquet, {
    "storage.location.template" = "s3://${var.artifacts_bucket}/forecast_drivers/cutoff_month=$${cutoff_month}/"
  })

  partition_keys {
    name    = "cutoff_month"
    type    = "string"
    comment = "Month whose last day is the forecast's cut-off, YYYY-MM"
  }

  storage_descriptor {
    location      = "s3://${var.artifacts_bucket}/forecast_drivers/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    columns {
      name    = "date"
      type    = "date"
      comment = "Forecast day"
    }
    columns {
      name    = "store_nbr"
      type    = "bigint"
      comment = "Store number (stores.csv)"
    }
    columns {
      name    = "family"
      type    = "string"
      comment = "Product family"
    }
    columns {
      name    = "days_ahead"
      type    = "bigint"
      comment = "Days after the cut-off: 1 is the day after"
    }
    columns {
      name    = "published_mean"
      type    = "double"
      comment = "The published forecast's mean, units (from the family's champion)"
    }
    columns {
      name    = "lightgbm"
      type    = "double"
      comment = "LightGBM's forecast, units: baseline + the drivers below"
    }
    columns {
      name    = "baseline"
      type    = "double"
      comment = "LightGBM's average day, units"
    }
    columns {
      name    = "recent_level"
      type    = "double"
      comment = "Units the last days' sales add (lags 1-6, 7- and 28-day means)"
    }
    columns {
      name    = "weekly_pattern"
      type    = "double"
      comment = "Units the same weekday in past weeks and the weekday add"
    }
    columns {
      name    = "calendar_and_paydays"
      type    = "double"
      comment = "Units the day of month, month, day of year and paydays add"
    }
    columns {
      name    = "promotions"
      type    = "double"
      comment = "Units the items on promotion add"
    }
    columns {
      name    = "holidays_and_events"
      type    = "double"
      comment = "Units holidays and events add"
    }
    columns {
      name    = "closures"
      type    = "double"
      comment = "Units a known closure takes away"
    }
    columns {
      name    = "store_and_family"
      type    = "double"
      comment = "Units the store, family, store type and cluster add"
    }
  }
}

# The adjusted_forecasts asset writes adjusted_forecasts/cutoff_month=YYYY-MM/forecasts.parquet: the published
# forecasts with the planners' overrides applied (the statistical values as they are when there are none).
resource "aws_glue_catalog_table" "adjusted_forecasts" {
  name          = "adjusted_forecasts"
  database_name = aws_glue_catalog_database.this.name
  description   = "The forecasts with the planners' overrides applied, the statistical values beside them"
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.monthly_parquet, {
    "storage.location.template" = "s3://${var.artifacts_bucket}/adjusted_forecasts/cutoff_month=$${cutoff_month}/"
  })

  partition_keys {
    name    = "cutoff_month"
    type    = "string"
    comment = "Month whose last day is the forecast's cut-off, YYYY-MM"
  }

  storage_descriptor {
    location      = "s3://${var.artifacts_bucket}/adjusted_forecasts/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    columns {
      name    = "date"
      type    = "date"
      comment = "Forecast day"
    }
    columns {
      name    = "store_nbr"
      type    = "bigint"
      comment = "Store number (stores.csv)"
    }
    columns {
      name    = "family"
      type    = "string"
      comment = "Product family"
    }
    columns {
      name    = "days_ahead"
      type    = "bigint"
      comment = "Days after the cut-off: 1 is the day after"
    }
    columns {
      name    = "store_closed"
      type    = "boolean"
      comment = "A closure known ahead (25 December, the store's yearly closures): forecast 0"
    }
    columns {
      name    = "mean"
      type    = "double"
      comment = "Mean forecast of unit sales"
    }
    columns {
      name    = "p10"
      type    = "double"
      comment = "10% quantile"
    }
    columns {
      name    = "p50"
      type    = "double"
      comment = "Median"
    }
    columns {
      name    = "p90"
      type    = "double"
      comment = "90% quantile"
    }
    columns {
      name    = "model_version"
      type    = "string"
      comment = "What was published for this series: its family's backtest champion (deepar-, lightgbm-, mfles-, croston-, baseline-)"
    }
    columns {
      name    = "statistical_mean"
      type    = "double"
      comment = "The statistical mean forecast, before any override"
    }
    columns {
      name    = "statistical_p10"
      type    = "double"
      comment = "The statistical 10% quantile"
    }
    columns {
      name    = "statistical_p50"
      type    = "double"
      comment = "The statistical median"
    }
    columns {
      name    = "statistical_p90"
      type    = "double"
      comment = "The statistical 90% quantile"
    }
    columns {
      name    = "override_line"
      type    = "bigint"
      comment = "The line of the override file whose rule adjusted this row; 0 for none"
    }
    columns {
      name    = "override"
      type    = "string"
      comment = "What the rule did (x1.2, 40 units a day, closed); empty for none"
    }
  }
}

# The forecasts asset also writes forecast_totals/cutoff_month=YYYY-MM/totals.parquet: the coherent totals.
resource "aws_glue_catalog_table" "forecast_totals" {
  name          = "forecast_totals"
  database_name = aws_glue_catalog_database.this.name
  description   = "Daily forecast totals: all stores, per store and per family; means add up, bands are the totals' own"
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.monthly_parquet, {
    "storage.location.template" = "s3://${var.artifacts_bucket}/forecast_totals/cutoff_month=$${cutoff_month}/"
  })

  partition_keys {
    name    = "cutoff_month"
    type    = "string"
    comment = "Month whose last day is the forecast's cut-off, YYYY-MM"
  }

  storage_descriptor {
    location      = "s3://${var.artifacts_bucket}/forecast_totals/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    columns {
      name    = "level"
      type    = "string"
      comment = "total (all stores, all families), store (one store's families) or family (one family in every store)"
    }
    columns {
      name    = "store_nbr"
      type    = "bigint"
      comment = "Store number at the store level, else null"
    }
    columns {
      name    = "family"
      type    = "string"
      comment = "Product family at the family level, else null"
    }
    columns {
      name    = "date"
      type    = "date"
      comment = "Forecast day"
    }
    columns {
      name    = "days_ahead"
      type    = "bigint"
      comment = "Days after the cut-off: 1 is the day after"
    }
    columns {
      name    = "mean"
      type    = "double"
      comment = "Sum of the series' mean forecasts"
    }
    columns {
      name    = "p10"
      type    = "double"
      comment = "10% quantile of the total, from the total's own backtest errors"
    }
    columns {
      name    = "p50"
      type    = "double"
      comment = "Median of the total"
    }
    columns {
      name    = "p90"
      type    = "double"
      comment = "90% quantile of the total, from the total's own backtest errors"
    }
  }
}

# The forecast_value_added asset writes forecast_value_added/cutoff_month=YYYY-MM/scores.parquet for each past cut-off
# whose horizon's sales arrived: the track record.
resource "aws_glue_catalog_table" "forecast_value_added" {
  name          = "forecast_value_added"
  database_name = aws_glue_catalog_database.this.name
  description   = "The track record: each past cut-off scored on its horizon's sales, naive, statistical and adjusted"
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.monthly_parquet, {
    "storage.location.template" = "s3://${var.artifacts_bucket}/forecast_value_added/cutoff_month=$${cutoff_month}/"
  })

  partition_keys {
    name    = "cutoff_month"
    type    = "string"
    comment = "The cut-off scored, YYYY-MM"
  }

  storage_descriptor {
    location      = "s3://${var.artifacts_bucket}/forecast_value_added/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    columns {
      name    = "month"
      type    = "string"
      comment = "The cut-off scored, YYYY-MM"
    }
    columns {
      name    = "family"
      type    = "string"
      comment = "A product family, or ALL for all families together"
    }
    columns {
      name    = "forecast"
      type    = "string"
      comment = "naive (last week repeated), statistical (published) or adjusted (with the planners' overrides)"
    }
    columns {
      name    = "rmsle"
      type    = "double"
      comment = "Root mean squared logarithmic error over the horizon's series-days"
    }
    columns {
      name    = "wape"
      type    = "double"
      comment = "Sum of absolute errors over units sold"
    }
    columns {
      name    = "bias"
      type    = "double"
      comment = "(units forecast - units sold) / units sold"
    }
    columns {
      name    = "coverage"
      type    = "double"
      comment = "Share of series-days inside P10-P90; null for the naive forecast"
    }
    columns {
      name    = "actual_units"
      type    = "double"
      comment = "Units sold over the horizon"
    }
    columns {
      name    = "forecast_units"
      type    = "double"
      comment = "Units forecast over the horizon"
    }
    columns {
      name    = "series_days"
      type    = "bigint"
      comment = "Series-days scored"
    }
    columns {
      name    = "overridden_series_days"
      type    = "bigint"
      comment = "Series-days an override adjusted"
    }
    columns {
      name    = "bias_low"
      type    = "double"
      comment = "Lowest bias the cut-off's backtest allows (its windows' range, widened)"
    }
    columns {
      name    = "bias_high"
      type    = "double"
      comment = "Highest bias the cut-off's backtest allows"
    }
    columns {
      name    = "wape_high"
      type    = "double"
      comment = "Worst WAPE the cut-off's backtest allows"
    }
  }
}

# The replenishment_plan asset writes replenishment_plan/cutoff_month=YYYY-MM/plan.parquet: one row per store x family.
resource "aws_glue_catalog_table" "replenishment_plan" {
  name          = "replenishment_plan"
  database_name = aws_glue_catalog_database.this.name
  description   = "Replenishment plan per cut-off: demand over lead time + review period, order-up-to level, order, flags"
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.monthly_parquet, {
    "storage.location.template" = "s3://${var.artifacts_bucket}/replenishment_plan/cutoff_month=$${cutoff_month}/"
  })

  partition_keys {
    name    = "cutoff_month"
    type    = "string"
    comment = "Month whose last day is the forecast's cut-off, YYYY-MM"
  }

  storage_descriptor {
    location      = "s3://${var.artifacts_bucket}/replenishment_plan/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    columns {
      name    = "store_nbr"
      type    = "bigint"
      comment = "Store number"
    }
    columns {
      name    = "city"
      type    = "string"
      comment = "The store's city (stores.csv)"
    }
    columns {
      name    = "store_type"
      type    = "string"
      comment = "The store's type (stores.csv)"
    }
    columns {
      name    = "family"
      type    = "string"
      comment = "Product family"
    }
    columns {
      name    = "on_hand"
      type    = "double"
      comment = "Units in stock at the snapshot"
    }
    columns {
      name    = "on_order"
      type    = "double"
      comment = "Units ordered, not yet arrived"
    }
    columns {
      name    = "stock_position"
      type    = "double"
      comment = "on_hand + on_order"
    }
    columns {
      name    = "lead_time_days"
      type    = "bigint"
      comment = "Days until an order placed now arrives"
    }
    columns {
      name    = "review_period_days"
      type    = "bigint"
      comment = "Days until the next chance to order"
    }
    columns {
      name    = "order_date"
      type    = "date"
      comment = "The day to place the order: the first day after the cut-off"
    }
    columns {
      name    = "arrival_date"
      type    = "date"
      comment = "The day an order placed on order_date arrives (order_date + lead_time_days)"
    }
    columns {
      name    = "next_order_date"
      type    = "date"
      comment = "The next chance to order (order_date + review_period_days)"
    }
    columns {
      name    = "pack_size"
      type    = "double"
      comment = "Orders are whole packs of this many units (1: single units)"
    }
    columns {
      name    = "service_level"
      type    = "double"
      comment = "Wanted probability of no stockout until the next order arrives"
    }
    columns {
      name    = "service_level_from"
      type    = "string"
      comment = "target (the snapshot's), costs (the newsvendor critical ratio) or default"
    }
    columns {
      name    = "service_level_capped"
      type    = "boolean"
      comment = "The backtest holds too few sums to tell the service level from a higher one: ordered up to the worst miss seen"
    }
    columns {
      name    = "demand_mean"
      type    = "double"
      comment = "Mean demand over lead time + review period"
    }
    columns {
      name    = "demand_p10"
      type    = "double"
      comment = "10% quantile of that demand"
    }
    columns {
      name    = "demand_p50"
      type    = "double"
      comment = "Median of that demand"
    }
    columns {
      name    = "demand_p90"
      type    = "double"
      comment = "90% quantile of that demand"
    }
    columns {
      name    = "lead_time_demand_mean"
      type    = "double"
      comment = "Mean demand over the lead time alone"
    }
    columns {
      name    = "order_up_to"
      type    = "double"
      comment = "The service-level quantile of demand over lead time + review period"
    }
    columns {
      name    = "order_quantity"
      type    = "double"
      comment = "Units to order now: order_up_to - stock_position, at least 0, in whole packs"
    }
    columns {
      name    = "p_stockout_no_order"
      type    = "double"
      comment = "Probability that demand until the next order arrives exceeds the stock, with no order now"
    }
    columns {
      name    = "p_stockout_before_arrival"
      type    = "double"
      comment = "Probability that demand over the lead time exceeds the stock"
    }
    columns {
      name    = "days_of_cover"
      type    = "double"
      comment = "stock_position over the mean daily forecast (Infinity: no demand forecast)"
    }
    columns {
      name    = "stockout_risk"
      type    = "boolean"
      comment = "p_stockout_before_arrival above 1 - service_level"
    }
    columns {
      name    = "overstock"
      type    = "boolean"
      comment = "Stock above demand_p90 and more days of cover than the threshold"
    }
    columns {
      name    = "expected_units_short"
      type    = "double"
      comment = "Expected units short after ordering"
    }
    columns {
      name    = "expected_units_over"
      type    = "double"
      comment = "Expected units left over after ordering"
    }
    columns {
      name    = "expected_cost"
      type    = "double"
      comment = "With costs: expected shortage plus holding cost"
    }
    columns {
      name    = "order_value"
      type    = "double"
      comment = "With a unit_cost: what the order costs"
    }
    columns {
      name    = "money_at_risk"
      type    = "double"
      comment = "With a unit_price: margin lost on the expected shortage plus holding cost of the expected overstock"
    }
    columns {
      name    = "residuals"
      type    = "bigint"
      comment = "Backtest sums the demand distribution was learned from"
    }
    columns {
      name    = "residuals_from"
      type    = "string"
      comment = "Whose backtest sums: the family, or all families when it has too few"
    }
    columns {
      name    = "model_version"
      type    = "string"
      comment = "Model the series' forecast was published from"
    }
    columns {
      name    = "forecast"
      type    = "string"
      comment = "Which forecast the plan used: statistical, or adjusted by override set <sha256 prefix>"
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name        = var.name
  description = "Queries over the Favorita forecasts; results encrypted in the artifacts bucket"
  state       = "ENABLED"

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    result_configuration {
      output_location = "s3://${var.artifacts_bucket}/athena-results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  force_destroy = true # query results are scratch files
  tags          = var.tags
}
