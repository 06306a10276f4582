"""Jobs, schedules and sensors that decide when the asset graph is materialized.

Two jobs: ``refresh_data`` lands and cleans the raw files (not partitioned: the latest snapshot), and
``favorita_pipeline`` does the per-cut-off work (channels, model, backtest, forecasts, plots) on the latest cleaned
series, so a backfill of N months lands and cleans nothing. A new cleaned version starts the forecast of the newest
month (``forecast_new_data``), unless that month is already published from that version (by `favorita run`, the UI
or an earlier tick, whatever its settings); the monthly schedule refreshes the data, and skips, saying why, when the
month that ended has no data. Both start stopped unless FAVORITA_AUTOMATION=running (aws mode and prod-local), so
opening the UI on a laptop starts nothing unasked.
"""

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    EventLogEntry,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    define_asset_job,
    schedule,
)

from favorita_assets.automation.sensors import alert_on_run_failure, build_event_sensor
from favorita_assets.partitions import CUTOFF_PARTITIONS, month_before, no_data_for
from favorita_assets.resources.storage import Storage
from favorita_assets.settings import Settings

PIPELINE_JOB_NAME = "favorita_pipeline"
# Every run of the pipeline job trains DeepAR; the production instance (infra/dagster/dagster.yaml) runs at most one
# run with this tag at a time, so a backfill of many months queues instead of exhausting the machine.
TRAINING_TAG = {"favorita/training": "deepar"}
# Run monitoring fails a run after dagster/max_runtime seconds (the instance's max_runtime_seconds, six hours, for the
# other jobs). The pipeline's longest AWS path: the Glue cleaning and channel jobs (an hour each at most), SageMaker
# training (four hours, waited five), two batch transforms (three hours each) and the steps around them; an Amazon
# Forecast predictor trains for hours too.
PIPELINE_MAX_RUNTIME_SECONDS = 24 * 3600
REFRESH_JOB_NAME = "refresh_data"
# The cleaned_series version a forecast run worked on (the sensor's runs and `favorita run` set it).
CLEANED_VERSION_TAG = "favorita/cleaned_version"
TURN_ON = (
    "Stopped on this machine, so opening the UI starts no run: turn it on with the toggle here (or set "
    "FAVORITA_AUTOMATION=running before `favorita ui`); production (prod-local, aws) starts it running."
)

refresh_data = define_asset_job(
    REFRESH_JOB_NAME,
    selection=AssetSelection.groups("ingest", "series"),
    description="Land the raw files and clean the series, with their checks. Adds a monthly cut-off partition for "
    "every month the sales data supports; a new cleaned version then starts the newest month's forecast.",
)

favorita_pipeline = define_asset_job(
    PIPELINE_JOB_NAME,
    selection=AssetSelection.groups("modeling", "publishing", "decisions"),
    partitions_def=CUTOFF_PARTITIONS,
    tags={**TRAINING_TAG, "dagster/max_runtime": str(PIPELINE_MAX_RUNTIME_SECONDS)},
    description="One monthly cut-off on the latest cleaned series: DeepAR channels, training, backtest, forecasts, "
    "the submission, the plots, the replenishment plan and the planner's report, with every check. "
    "Backfill it over months for a rolling-origin backtest; it "
    "never lands or cleans the raw files again (refresh_data does).",
)


def monthly_schedule(status: DefaultScheduleStatus, settings: Settings):
    @schedule(
        job=refresh_data,
        cron_schedule=settings.retrain_cron,
        execution_timezone="UTC",
        default_status=status,
        description="Monthly retraining: at 03:00 UTC on the 1st (FAVORITA_RETRAIN_CRON), refresh the data; "
        "the new cleaned series then start "
        "the forecast of the month that just ended. Skips when the data does not reach that month. Stopped by default "
        "when EventBridge drives the runs (aws mode with an event queue)."
        + (f" {TURN_ON}" if settings.automation == "stopped" else ""),
    )
    def monthly_retrain(context: ScheduleEvaluationContext, storage: Storage):
        month = month_before(context.scheduled_execution_time)
        nothing_new = no_data_for(month, settings, storage)
        if nothing_new:
            return SkipReason(nothing_new)
        return RunRequest(run_key=f"monthly-{month}", tags={"favorita/month": month})

    return monthly_retrain


def already_published(instance, month: str, version: str, cleaned_at: float) -> str | None:
    """Why forecasting ``month`` from cleaned version ``version`` (materialized at ``cleaned_at``, epoch seconds) would
    repeat work, or None: its forecasts were made after that version appeared or from that version (whatever their
    settings), or a run of that month is under way."""
    in_flight = instance.get_runs(
        RunsFilter(
            job_name=PIPELINE_JOB_NAME,
            tags={"dagster/partition": month},
            statuses=[
                DagsterRunStatus.QUEUED,
                DagsterRunStatus.NOT_STARTED,
                DagsterRunStatus.STARTING,
                DagsterRunStatus.STARTED,
            ],
        ),
        limit=1,
    )
    if in_flight:
        return f"a forecast of {month} is already running (run {in_flight[0].run_id[:8]})"
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("forecasts"), asset_partitions=[month]), limit=1
    ).records
    if not records:
        return None
    entry = records[0].event_log_entry
    run = instance.get_run_by_id(entry.run_id)
    if entry.timestamp >= cleaned_at or (run is not None and run.tags.get(CLEANED_VERSION_TAG) == version):
        return (
            f"{month} is already forecast from cleaned version {version} (run {entry.run_id[:8]}); "
            "materialize it in the UI to forecast it again with other settings"
        )
    return None


def build_forecast_sensor(status: DefaultSensorStatus):
    @asset_sensor(
        asset_key=AssetKey("cleaned_series"),
        job=favorita_pipeline,
        name="forecast_new_data",
        default_status=status,
        minimum_interval_seconds=30,
        description="When a new version of cleaned_series is materialized, forecast the newest monthly cut-off the "
        "data supports, once per cleaned version, and never a month already forecast from that version."
        + (f" {TURN_ON}" if status == DefaultSensorStatus.STOPPED else ""),
    )
    def forecast_new_data(context: SensorEvaluationContext, asset_event: EventLogEntry):
        materialization = asset_event.asset_materialization
        version = str(materialization.metadata["version"].value) if "version" in materialization.metadata else "unknown"
        months = context.instance.get_dynamic_partitions(CUTOFF_PARTITIONS.name)
        if not months:
            return SkipReason("the sales data supports no monthly cut-off yet (too little history)")
        month = max(months)
        done = already_published(context.instance, month, version, asset_event.timestamp)
        if done:
            return SkipReason(done)
        return RunRequest(
            run_key=f"forecast-{month}-{version}",
            partition_key=month,
            tags={"favorita/trigger": "new-cleaned-series", CLEANED_VERSION_TAG: version},
        )

    return forecast_new_data


def build_defs(settings: Settings) -> Definitions:
    """The two jobs, the monthly schedule, the new-data sensor, the run-failure alert, and in aws mode with an event
    queue the EventBridge sensor (which then replaces the schedule: EventBridge Scheduler sends the monthly message)."""
    queue = settings.aws.get("FAVORITA_EVENT_QUEUE_URL", "") if settings.deployment == "aws" else ""
    running = settings.automation == "running"
    sensors = [
        alert_on_run_failure,
        build_forecast_sensor(DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED),
    ] + ([build_event_sensor(queue, refresh_data, settings)] if queue else [])
    status = DefaultScheduleStatus.RUNNING if running and not queue else DefaultScheduleStatus.STOPPED
    return Definitions(
        jobs=[refresh_data, favorita_pipeline], schedules=[monthly_schedule(status, settings)], sensors=sensors
    )
