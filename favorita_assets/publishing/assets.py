"""What planners read, per monthly cut-off: the forecasts table, Kaggle's submission file, and the plots."""

import base64

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from favorita_assets import storage_keys as keys
from favorita_assets.series.dataset import read_cleaned_series
from favorita_assets.core import baselines, plotting
from favorita_assets.core.evaluation import DEEPAR, QUANTILES, close_days, closed_ahead, forecast_frame, history_matrix
from favorita_assets.ingest.assets import RAW_ASSET_NAMES, read_landed
from favorita_assets.modeling.assets import forecast_evaluation, read_channel
from favorita_assets.partitions import CUTOFF_PARTITIONS
from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer
from favorita_assets.versions import CODE_VERSIONS, content_version

FORECAST_COLUMNS = ["date", "store_nbr", "family", "days_ahead", "store_closed", "mean", "p10", "p50", "p90",
                    "model_version"]


def _quantile_array(table: pd.DataFrame, column: str, n: int) -> np.ndarray:
    return table[column].to_numpy().reshape(n, -1)


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="publishing",
    kinds={"parquet"},
    code_version=CODE_VERSIONS["forecasts"],
    deps=[forecast_evaluation],
    description="For every store x family, the prediction_length days after the cut-off (the test.csv dates when "
    "present): mean and P10/P50/P90, non-negative, with the model version, from the backtest's champion (DeepAR, "
    "or the best baseline with quantiles from its backtest residuals). Parquet with columns "
    f"{', '.join(FORECAST_COLUMNS)}, in Hive-style monthly folders that Athena and QuickSight can read.",
)
def forecasts(context: AssetExecutionContext, storage: Storage, trainer: DeepARTrainer) -> MaterializeResult:
    partition = context.partition_key
    manifest = storage.read_json(keys.training_manifest(partition))
    summary = storage.read_json(keys.evaluation_metrics(partition))
    h, champion = manifest["prediction_length"], summary["champion"]
    horizon = pd.DatetimeIndex(manifest["horizon"])
    series = pd.DataFrame(manifest["series"])
    inference = read_channel(storage, partition, "inference")
    closed = closed_ahead(inference, h)
    if champion == DEEPAR:
        model = storage.read_json(keys.model_pointer(partition))
        predictions = trainer.predict(context, storage, model, inference, QUANTILES)
        mean = np.vstack([p["mean"] for p in predictions])
        quantiles = {q: np.vstack([p[q] for p in predictions]) for q in QUANTILES}
        version = model["version"]
    else:
        history = history_matrix(read_channel(storage, partition, "test"), 28)
        mean = baselines.forecast(champion, history, h)
        backtest = storage.read_parquet(keys.evaluation_backtest(partition))
        n = len(series)
        quantiles = baselines.residual_quantiles(
            mean, _quantile_array(backtest, "actual", n), _quantile_array(backtest, f"{champion}_mean", n), QUANTILES
        )
        version = f"baseline-{champion}-{partition[:7]}"
        context.log.warning(f"DeepAR lost the backtest: publishing the {champion} baseline ({version})")
    published = close_days({"mean": mean, **quantiles}, closed)  # known closures: 0, with a zero-width band
    mean, quantiles = published["mean"], {q: published[q] for q in QUANTILES}
    frame = forecast_frame(series, horizon, mean, quantiles, version, closed)
    storage.write_parquet(keys.forecasts(partition), frame)
    totals = frame.groupby("date")["mean"].sum()
    return MaterializeResult(
        metadata={
            "rows": MetadataValue.int(len(frame)),
            "model_version": version,
            "champion": champion,
            "horizon": f"{horizon[0]:%Y-%m-%d} .. {horizon[-1]:%Y-%m-%d}",
            "total_units_forecast": round(float(frame["mean"].sum()), 1),
            "known_closed_series_days": MetadataValue.int(int(closed.sum())),
            "daily_totals": MetadataValue.md(
                "| date | all stores, mean |\n|---|---|\n"
                + "\n".join(f"| {d} | {v:,.0f} |" for d, v in totals.items())
            ),
            "path": MetadataValue.path(storage.uri(keys.forecasts(partition))),
        },
        data_version=content_version(frame.to_csv(index=False)),
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


def _embedded(png: bytes, title: str) -> str:
    return f"**{title}**\n\n![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="publishing",
    kinds={"matplotlib"},
    code_version=CODE_VERSIONS["forecast_plots"],
    deps=[forecasts],
    description="PNG plots of actual vs forecast with the P10-P90 band, for the all-stores total and the largest "
    "series, and the backtest overlay (forecast vs what really happened). Kept in storage under plots/ and shown "
    "on the materialization.",
)
def forecast_plots(context: AssetExecutionContext, storage: Storage) -> MaterializeResult:
    partition = context.partition_key
    manifest = storage.read_json(keys.training_manifest(partition))
    summary = storage.read_json(keys.evaluation_metrics(partition))
    cutoff = pd.Timestamp(manifest["cutoff"])
    fc = storage.read_parquet(keys.forecasts(partition)).assign(date=lambda f: pd.to_datetime(f["date"]))
    backtest = storage.read_parquet(keys.evaluation_backtest(partition))
    cleaned = read_cleaned_series(storage, columns=["date", "store_nbr", "family", "sales"])
    recent = cleaned[(cleaned["date"] > cutoff - pd.Timedelta(days=70)) & (cleaned["date"] <= cutoff)]
    recent = recent.assign(family=recent["family"].astype(str))
    version = fc["model_version"].iloc[0]
    champion, best = summary["champion"], summary["best_baseline"]

    def panel(title, hist, sub, label):
        daily = sub.groupby("date")[["mean", "p10", "p90"]].sum()
        past = hist.groupby("date")["sales"].sum()
        shut = sub.groupby("date")["store_closed"].all()
        return plotting.Panel(title, past.index, past.to_numpy(), daily.index, daily["mean"].to_numpy(),
                              daily["p10"].to_numpy(), daily["p90"].to_numpy(), label,
                              closed=pd.DatetimeIndex(shut.index[shut.to_numpy()]))  # fmt: skip

    top = (recent.groupby(["store_nbr", "family"])["sales"].sum().sort_values(ascending=False).head(4).index.tolist())
    label = f"forecast ({version})"
    bt_totals = backtest.groupby("date")[["actual", f"{champion}_mean"]].sum()
    whole = panel("All stores, all families", recent, fc, label)
    whole.p10, whole.p90 = plotting.total_band(whole.mean, bt_totals["actual"].to_numpy(), bt_totals[f"{champion}_mean"].to_numpy())
    total = plotting.render(
        [whole],
        f"Forecast after {cutoff:%d %b %Y}: all stores",
        f"Band: P10-P90 of the all-stores total, from the {champion} forecast's errors on the total over the "
        f"{len(bt_totals)}-day backtest.",
    )  # fmt: skip
    top_series = plotting.render(
        [panel(f"Store {s} - {f}", recent[(recent.store_nbr == s) & (recent.family == f)],
               fc[(fc.store_nbr == s) & (fc.family == f)], label) for s, f in top],
        f"Forecast after {cutoff:%d %b %Y}: the largest series",
    )  # fmt: skip

    window = pd.to_datetime(backtest["date"])
    bt = backtest.assign(date=window, family=backtest["family"].astype(str))
    before = recent[recent["date"] < window.min()]

    def overlay(title, hist, sub):
        daily = sub.groupby("date")[["actual", "deepar_mean", "deepar_p10", "deepar_p90", f"{best}_mean"]].sum()
        past = hist.groupby("date")["sales"].sum()
        return plotting.Panel(
            title, past.index, past.to_numpy(), daily.index, daily["deepar_mean"].to_numpy(),
            daily["deepar_p10"].to_numpy(), daily["deepar_p90"].to_numpy(), "DeepAR backtest",
            actual=daily["actual"].to_numpy(), baseline=daily[f"{best}_mean"].to_numpy(), baseline_label=best,
        )  # fmt: skip

    s0, f0 = top[0]
    scores = summary["scores"]
    whole_backtest = overlay("All stores, all families", before, bt)
    whole_backtest.p10 = whole_backtest.p90 = None  # a sum of series quantiles is no band for the total
    backtest_png = plotting.render(
        [whole_backtest,
         overlay(f"Store {s0} - {f0}", before[(before.store_nbr == s0) & (before.family == f0)],
                 bt[(bt.store_nbr == s0) & (bt.family == f0)])],
        f"Backtest {window.min():%d %b} - {window.max():%d %b %Y}: forecast vs what really happened",
        f"RMSLE: DeepAR {scores[DEEPAR]['rmsle']:.3f}, {best} {scores[best]['rmsle']:.3f}; published: {champion}.",
    )  # fmt: skip
    prefix = keys.plots_prefix(partition)
    files = dict(zip(keys.PLOT_FILES, (total, top_series, backtest_png)))
    for name, png in files.items():
        storage.write_bytes(f"{prefix}/{name}", png)
    return MaterializeResult(
        metadata={
            "forecast_total": MetadataValue.md(_embedded(total, "All stores: forecast")),
            "forecast_largest_series": MetadataValue.md(_embedded(top_series, "Largest series: forecast")),
            "backtest": MetadataValue.md(_embedded(backtest_png, "Backtest: forecast vs actual")),
            "files": MetadataValue.json({name: storage.uri(f"{prefix}/{name}") for name in files}),
        },
        data_version=content_version(*files.values()),
    )
