"""Running the whole graph in-process (the `favorita run` command and the end-to-end tests) and reporting on it."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

from favorita_assets.automation import CLEANED_VERSION_TAG, PIPELINE_JOB_NAME, REFRESH_JOB_NAME
from favorita_assets.dagster_failures import is_data_error, step_failure_text, step_failure_trace
from favorita_assets.definitions import build_definitions
from favorita_assets.partitions import (
    CUTOFF_PARTITIONS,
    DEFAULT_PREDICTION_LENGTH,
    check_month,
    partition_of,
)
from favorita_assets.settings import Settings


@dataclass
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    severity: str
    description: str


@dataclass
class PipelineReport:
    success: bool
    partition_key: str
    materialized: dict[str, dict[str, object]] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)  # steps that failed on something other than bad data
    run_ids: list[str] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]


def run_config(prediction_length: int | None = None, **deepar: object) -> dict:
    """Run config for the pipeline job: the horizon for the training data, DeepAR hyperparameters for the model."""
    ops: dict = {}
    if prediction_length is not None:
        ops["deepar_training_data"] = {"config": {"prediction_length": prediction_length}}
    hyperparameters = {k: v for k, v in deepar.items() if v is not None}
    if hyperparameters:
        ops["deepar_model"] = {"config": hyperparameters}
    return {"ops": ops} if ops else {}


def run_pipeline(
    settings: Settings,
    partition_key: str | None = None,
    config: dict | None = None,
    instance: DagsterInstance | None = None,
    log_level: str = "INFO",
    resources: dict | None = None,
    loggers: dict | None = None,
) -> PipelineReport:
    """Refresh the data (land and clean), then materialize every per-cut-off asset for one monthly cut-off (default:
    the month of the data's last date), with every check; two runs, as the schedule does them. Never raises for a
    failed step: the report says what failed. ``loggers`` replaces Dagster's console logger (run config)."""
    from favorita_assets.core.candidates import DEFAULT_CHALLENGERS, check_candidates
    from favorita_assets.core.errors import FavoritaDataError

    evaluation = (config or {}).get("ops", {}).get("forecast_evaluation", {}).get("config", {})
    try:  # a setting the backtest cannot use is refused before any work, not after the model is trained
        check_candidates(list(evaluation.get("candidates", DEFAULT_CHALLENGERS)))
    except FavoritaDataError as error:
        return PipelineReport(success=False, partition_key=partition_key or "", failures=[f"config: {error}"])
    defs = build_definitions(settings, resources)
    if instance is None:  # with DAGSTER_HOME set, runs are recorded where `dagster dev` shows them
        instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    logging_config = {"loggers": loggers or {"console": {"config": {"log_level": log_level}}}}
    refresh = defs.resolve_job_def(REFRESH_JOB_NAME).execute_in_process(
        instance=instance, raise_on_error=False, run_config=logging_config
    )
    report = PipelineReport(success=refresh.success, partition_key=partition_key or "")
    _collect(report, refresh)
    if not refresh.success:
        return report
    sales = report.materialized["raw_sales"]
    report.partition_key = partition_key = partition_key or partition_of(sales["last_date"])
    if partition_key not in instance.get_dynamic_partitions(CUTOFF_PARTITIONS.name):
        try:
            check_month(partition_key, sales["first_date"], sales["last_date"], _horizon(config))
            problem = f"month {partition_key} is not a monthly cut-off of this data (too little history before it)"
        except FavoritaDataError as error:
            problem = str(error)
        report.success = False
        report.failures.append(f"deepar_training_data: {problem}")
        return report
    forecast = defs.resolve_job_def(PIPELINE_JOB_NAME).execute_in_process(
        instance=instance,
        raise_on_error=False,
        partition_key=partition_key,
        run_config={**(config or {}), **logging_config},
        # the new-data sensor reads it: a month forecast from this version is not forecast again unasked
        tags={CLEANED_VERSION_TAG: str(report.materialized.get("cleaned_series", {}).get("version", "unknown"))},
    )
    report.success = forecast.success
    _collect(report, forecast)
    return report


def _horizon(config: dict | None) -> int:
    ops = (config or {}).get("ops", {})
    return ops.get("deepar_training_data", {}).get("config", {}).get("prediction_length", DEFAULT_PREDICTION_LENGTH)


def _collect(report: PipelineReport, result) -> None:
    report.run_ids.append(result.run_id)
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            report.materialized[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            report.checks.append(
                CheckOutcome(
                    asset=ev.asset_key.to_user_string(),
                    check=ev.check_name,
                    passed=ev.passed,
                    severity=ev.severity.value,
                    description=ev.description or "",
                )
            )
        elif event.event_type == DagsterEventType.STEP_FAILURE:
            report.failures.append(f"{event.step_key}: {step_failure_text(event)}")
            if not is_data_error(event):
                report.tracebacks.append(f"{event.step_key}: {step_failure_trace(event)}")


def export_outputs(settings: Settings, report: PipelineReport, out_dir: Path) -> dict[str, Path]:
    """Copy what a planner reads out of storage into ``out_dir``: forecasts.csv, submission.csv, metrics.json, the
    planner report and the replenishment plan (CSV), and the plots (with the track record's, once a past cut-off is
    scored), each only when this run materialized it. A copy left in ``out_dir`` by an earlier run is removed when
    this run did not make that output (e.g. no submission for a 7-day horizon), so nothing stale is read as
    new. Returns the written paths by name."""
    from favorita_assets import storage_keys as keys
    from favorita_assets.resources.storage import atomic_write_bytes, atomic_write_text
    from favorita_assets.settings import build_resources

    storage = build_resources(settings)["storage"]
    partition = report.partition_key
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {  # name: (asset that makes it, storage key, file in out_dir)
        "forecasts": ("forecasts", keys.forecasts(partition), out_dir / "forecasts.csv"),
        "submission": ("kaggle_submission", keys.submission(partition), out_dir / "submission.csv"),
        "metrics": ("forecast_evaluation", keys.evaluation_metrics(partition), out_dir / "metrics.json"),
        "planner_report": ("planner_report", keys.planner_report(partition), out_dir / "planner_report.html"),
        "replenishment_plan": (
            "replenishment_plan",
            keys.replenishment_csv(partition),
            out_dir / "replenishment_plan.csv",
        ),
    }
    for name in keys.PLOT_FILES:
        outputs[name] = ("forecast_plots", f"{keys.plots_prefix(partition)}/{name}", out_dir / "plots" / name)
    outputs["track_record.png"] = (
        "forecast_value_added",
        keys.track_record_plot(partition),
        out_dir / "plots" / "track_record.png",
    )
    written: dict[str, Path] = {}
    for name, (asset, key, path) in outputs.items():
        if asset not in report.materialized or not storage.exists(key):  # e.g. no plan without an inventory snapshot
            path.unlink(missing_ok=True)
            continue
        if name == "forecasts":
            atomic_write_text(path, storage.read_parquet(key).to_csv(index=False))
        else:
            atomic_write_bytes(path, storage.read_bytes(key))
        written[name] = path
    return written
