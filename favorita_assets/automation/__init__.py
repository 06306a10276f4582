"""Jobs, schedules and sensors that decide when the asset graph is materialized."""

import pandas as pd
from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from favorita_assets.modeling.partitions import partition_of

PIPELINE_JOB_NAME = "favorita_pipeline"

favorita_pipeline = define_asset_job(
    PIPELINE_JOB_NAME,
    selection=AssetSelection.all(),
    description="The whole graph for one monthly cut-off: land the raw files, clean the series, build the DeepAR "
    "channels, train, backtest, publish forecasts, the submission and the plots, with every check.",
)


@schedule(
    job=favorita_pipeline,
    cron_schedule="0 3 1 * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Monthly retraining: at 03:00 UTC on the 1st, materialize the month that just ended.",
)
def monthly_retrain(context: ScheduleEvaluationContext) -> RunRequest:
    month = partition_of(pd.Timestamp(context.scheduled_execution_time) - pd.Timedelta(days=1))
    return RunRequest(run_key=f"monthly-{month}", partition_key=month)


defs = Definitions(jobs=[favorita_pipeline], schedules=[monthly_retrain])
