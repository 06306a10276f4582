"""What planners read, per monthly cut-off: the forecasts table, Kaggle's submission file, and the plots."""

import base64

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from favorita_assets import storage_keys as keys
from favorita_assets.core import drivers
from favorita_assets.core.evaluation import QUANTILES, problems_from_records
from favorita_assets.ingest.assets import RAW_ASSET_NAMES, read_landed
from favorita_assets.modeling.assets import forecast_evaluation, read_channel
from favorita_assets.partitions import CUTOFF_PARTITIONS
from favorita_assets.publishing import plots, published
from favorita_assets.resources.cleaned_series import read_cleaned_series
from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer
from favorita_assets.versions import CODE_VERSIONS, content_version

FORECAST_COLUMNS = [
    "date",
    "store_nbr",
    "family",
    "days_ahead",
    "store_closed",
    "mean",
    "p10",
    "p50",
    "p90",
    "model_version",
]


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="publishing",
    kinds={"parquet"},
    code_version=CODE_VERSIONS["forecasts"],
    deps=[forecast_evaluation],
    description="For every store x family, the prediction_length days after the cut-off (the test.csv dates when "
    "present): mean and P10/P50/P90, non-negative, from each family's backtest champion, the band calibrated on "
    "that candidate's out-of-sample backtest errors; model_version names, row by row, what was published. Parquet "
    f"with columns {', '.join(FORECAST_COLUMNS)}, in Hive-style monthly folders that Athena and QuickSight can read. "
    "Beside it, forecast_totals/: the all-stores, per-store and per-family totals (bottom-up means, so they add up; "
    "bands from the totals' own backtest errors, never summed quantiles).",
)
def forecasts(context: AssetExecutionContext, storage: Storage, trainer: DeepARTrainer) -> MaterializeResult:
    partition = context.partition_key
    manifest = storage.read_json(keys.training_manifest(partition))
    summary = storage.read_json(keys.evaluation_metrics(partition))
    inference = read_channel(storage, partition, "inference")

    def predict_deepar() -> list[dict]:
        model = storage.read_json(keys.model_pointer(partition))
        try:
            return trainer.predict(context, storage, model, inference, QUANTILES)
        finally:
            trainer.release(context, model)  # the last forecast of the run: stop what bills by the hour

    frame, totals, closed = published.publish_forecasts(
        manifest, summary, inference, predict_deepar, lambda: storage.read_parquet(keys.evaluation_horizon(partition))
    )
    storage.write_parquet(keys.forecasts(partition), frame)
    storage.write_parquet(keys.forecast_totals(partition), totals)
    plain, daily_totals = published.forecasts_metadata(frame, totals, closed, summary, manifest)
    return MaterializeResult(
        metadata={
            **plain,
            "daily_totals": MetadataValue.md(daily_totals),
            "path": MetadataValue.path(storage.uri(keys.forecasts(partition))),
            "totals_path": MetadataValue.path(storage.uri(keys.forecast_totals(partition))),
        },
        data_version=content_version(frame.to_csv(index=False), totals.to_csv(index=False)),
    )


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="publishing",
    kinds={"csv"},
    code_version=CODE_VERSIONS["kaggle_submission"],
    deps=[forecasts, RAW_ASSET_NAMES["test"]],
    output_required=False,
    description="Kaggle's submission.csv (id, sales), row for row with test.csv, for the cut-off whose horizon is "
    "test.csv's dates. Other cut-offs have no test.csv horizon: the asset is then skipped, not faked.",
)
def kaggle_submission(context: AssetExecutionContext, storage: Storage):
    partition = context.partition_key
    test = read_landed(storage, "test")
    frame = storage.read_parquet(keys.forecasts(partition))
    horizon = set(pd.to_datetime(frame["date"]))
    if test is None or not set(test["date"]).issubset(horizon):
        reason = "test.csv is absent" if test is None else "this cut-off's horizon does not cover test.csv's dates"
        if storage.exists(keys.submission(partition)):  # an earlier run's, for another horizon: no longer true
            storage.delete(keys.submission(partition))
            reason += "; the earlier run's submission for this cut-off was removed"
        context.log.info(f"no submission for {partition[:7]}: {reason}")
        return
    frame = frame.assign(date=pd.to_datetime(frame["date"]), family=frame["family"].astype(str))
    merged = test.assign(family=test["family"].astype(str)).merge(
        frame[["date", "store_nbr", "family", "mean"]], on=["date", "store_nbr", "family"], how="left"
    )
    unmatched = int(merged["mean"].isna().sum())
    if unmatched:
        context.log.warning(f"{unmatched} test.csv rows have no series in the training data: submitted as 0")
    submission = pd.DataFrame({"id": merged["id"], "sales": merged["mean"].fillna(0.0).round(4)})
    body = submission.to_csv(index=False).encode()
    storage.write_bytes(keys.submission(partition), body)
    yield MaterializeResult(
        metadata={
            "rows": MetadataValue.int(len(submission)),
            "rows_without_series": unmatched,
            "path": MetadataValue.path(storage.uri(keys.submission(partition))),
        },
        data_version=content_version(body),
    )


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="publishing",
    kinds={"parquet", "lightgbm"},
    code_version=CODE_VERSIONS["forecast_drivers"],
    deps=[forecasts],
    description="Why each forecast is what it is: for every store x family and day after the cut-off, what drives "
    "the number in units (the recent level, the weekly pattern, the calendar and paydays, promotions, holidays and "
    "events, closures, the store and family), from the LightGBM model's own feature contributions (pred_contrib), "
    "the model trained exactly as in the backtest. Baseline + drivers = LightGBM's forecast, beside the published "
    "mean (which may come from another model). Parquet with columns "
    f"{', '.join(drivers.TABLE_COLUMNS)} (an Athena table); the report shows each store x family's horizon.",
)
def forecast_drivers(context: AssetExecutionContext, storage: Storage) -> MaterializeResult:
    partition = context.partition_key
    manifest = storage.read_json(keys.training_manifest(partition))
    summary = storage.read_json(keys.evaluation_metrics(partition))
    test, inference = read_channel(storage, partition, "test"), read_channel(storage, partition, "inference")
    h, k = int(manifest["prediction_length"]), int(manifest.get("backtest_windows", 1))
    problems = problems_from_records(test, inference, h, k, manifest["cutoff"])
    series = pd.DataFrame(manifest["series"])
    families = series["family"].astype(str).to_numpy()
    split = str(summary.get("global_models_by", "chain"))
    explained = drivers.explain_as_evaluated(problems, families, int(summary.get("seed", 0)), split)
    table = drivers.drivers_table(explained, series, storage.read_parquet(keys.forecasts(partition)))
    storage.write_parquet(keys.forecast_drivers(partition), table)
    overall = drivers.horizon_summary(table)[["published_mean", "lightgbm", "baseline", *drivers.DRIVER_COLUMNS]]
    return MaterializeResult(
        metadata={
            "rows": MetadataValue.int(len(table)),
            "all_stores_units": MetadataValue.md(drivers.markdown(overall.sum())),
            "path": MetadataValue.path(storage.uri(keys.forecast_drivers(partition))),
        },
        data_version=content_version(table.to_csv(index=False)),
    )


def embedded_png(png: bytes, title: str) -> str:
    """A PNG as Markdown that the Dagster UI shows inline."""
    return f"**{title}**\n\n![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="publishing",
    kinds={"matplotlib"},
    code_version=CODE_VERSIONS["forecast_plots"],
    deps=[forecasts],
    description="PNG plots: the all-stores total and the largest series with the published forecast and its P10-P90 "
    "band (and, for a past cut-off, the sales that followed), the backtest overlay (what was forecast on each "
    "window against what happened) and every candidate's RMSLE per window. Kept in storage under plots/ and shown "
    "on the materialization.",
)
def forecast_plots(context: AssetExecutionContext, storage: Storage) -> MaterializeResult:
    partition = context.partition_key
    manifest = storage.read_json(keys.training_manifest(partition))
    summary = storage.read_json(keys.evaluation_metrics(partition))
    fc = storage.read_parquet(keys.forecasts(partition))
    totals = storage.read_parquet(keys.forecast_totals(partition))
    backtest = storage.read_parquet(keys.evaluation_backtest(partition))
    # Only the weeks the plots show (before the backtest, before the cut-off, and after it), never all history.
    since = plots.history_since(manifest, backtest)
    cleaned = read_cleaned_series(storage, columns=["date", "store_nbr", "family", "sales"], since=since)
    total, top_series, backtest_png, windows_png = plots.plot_pngs(manifest, summary, fc, totals, backtest, cleaned)
    prefix = keys.plots_prefix(partition)
    files = dict(zip(keys.PLOT_FILES, (total, top_series, backtest_png, windows_png), strict=True))
    for name, png in files.items():
        storage.write_bytes(f"{prefix}/{name}", png)
    return MaterializeResult(
        metadata={
            "forecast_total": MetadataValue.md(embedded_png(total, "All stores: forecast")),
            "forecast_largest_series": MetadataValue.md(embedded_png(top_series, "Largest series: forecast")),
            "backtest": MetadataValue.md(embedded_png(backtest_png, "Backtest: forecast vs actual")),
            "backtest_windows": MetadataValue.md(embedded_png(windows_png, "Backtest: RMSLE per window")),
            "files": MetadataValue.json({name: storage.uri(f"{prefix}/{name}") for name in files}),
        },
        data_version=content_version(*files.values()),
    )
