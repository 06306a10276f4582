"""Jobs, schedules and sensors that decide when the asset graph is materialized."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from favorita_assets.automation.sensors import alert_on_run_failure, build_event_sensor
from favorita_assets.modeling.partitions import month_before
from favorita_assets.settings import Settings

PIPELINE_JOB_NAME = "favorita_pipeline"

favorita_pipeline = define_asset_job(
    PIPELINE_JOB_NAME,
    selection=AssetSelection.all(),
    description="The whole graph for one monthly cut-off: land the raw files, clean the series, build the DeepAR "
    "channels, train, backtest, publish forecasts, the submission and the plots, with every check.",
)


def monthly_schedule(status: DefaultScheduleStatus):
    @schedule(
        job=favorita_pipeline,
        cron_schedule="0 3 1 * *",
        execution_timezone="UTC",
        default_status=status,
        description="Monthly retraining: at 03:00 UTC on the 1st, materialize the month that just ended. Stopped by "
        "default when EventBridge drives the runs (aws mode with an event queue).",
    )
    def monthly_retrain(context: ScheduleEvaluationContext) -> RunRequest:
        month = month_before(context.scheduled_execution_time)
        return RunRequest(run_key=f"monthly-{month}", partition_key=month)

    return monthly_retrain


def build_defs(settings: Settings) -> Definitions:
    """The job, the monthly schedule, the run-failure alert, and in aws mode with an event queue the EventBridge
    sensor (which then replaces the schedule: EventBridge Scheduler sends the monthly message)."""
    queue = settings.aws.get("FAVORITA_EVENT_QUEUE_URL", "") if settings.deployment == "aws" else ""
    sensors = [alert_on_run_failure] + ([build_event_sensor(queue, favorita_pipeline)] if queue else [])
    status = DefaultScheduleStatus.STOPPED if queue else DefaultScheduleStatus.RUNNING
    return Definitions(jobs=[favorita_pipeline], schedules=[monthly_schedule(status)], sensors=sensors)
