"""What planners read, per monthly cut-off: the forecasts table, Kaggle's submission file, and the plots."""

import base64

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from favorita_assets import storage_keys as keys
from favorita_assets.core import hierarchy, plotting
from favorita_assets.core.candidates import DEEPAR, ENSEMBLE, blend, labels_of, stopped_selling
from favorita_assets.core.evaluation import QUANTILES, closed_ahead, forecast_frame, history_matrix, publish
from favorita_assets.ingest.assets import RAW_ASSET_NAMES, read_landed
from favorita_assets.modeling.assets import forecast_evaluation, read_channel
from favorita_assets.partitions import CUTOFF_PARTITIONS
from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer
from favorita_assets.series.dataset import read_cleaned_series
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
    h, champions = manifest["prediction_length"], summary["champions"]
    horizon = pd.DatetimeIndex(manifest["horizon"])
    series = pd.DataFrame(manifest["series"])
    families = series["family"].astype(str).to_numpy()
    inference = read_channel(storage, partition, "inference")
    closed = closed_ahead(inference, h)
    n = len(series)
    base = {}  # candidate -> base quantiles (n, h)
    members = summary.get("ensemble_members", []) if ENSEMBLE in champions.values() else []
    if DEEPAR in champions.values() or DEEPAR in members:
        model = storage.read_json(keys.model_pointer(partition))
        try:
            predictions = trainer.predict(context, storage, model, inference, QUANTILES)
        finally:
            trainer.release(context, model)  # the last forecast of the run: stop what bills by the hour
        base[DEEPAR] = {
            "mean": np.vstack([p["mean"] for p in predictions]),
            **{q: np.vstack([p[q] for p in predictions]) for q in QUANTILES},
        }
    candidates = storage.read_parquet(keys.evaluation_horizon(partition))
    for name in (set(champions.values()) | set(members)) - {DEEPAR, ENSEMBLE}:
        base[name] = {"mean": candidates[f"{name}_mean"].to_numpy().reshape(n, h)}
    if members:
        base[ENSEMBLE] = {"mean": blend([base[m]["mean"] for m in members])}
    stopped = stopped_selling(history_matrix(inference, max(len(r["target"]) for r in inference)), h)
    mean, quantiles, versions = publish(
        base, champions, summary["offsets"], summary["versions"], families, closed, stopped
    )
    frame = forecast_frame(series, horizon, mean, quantiles, versions, closed)
    totals = hierarchy.totals_frame(
        horizon,
        mean,
        series["store_nbr"].to_numpy(),
        families,
        {level: t["offsets"] for level, t in summary["totals"].items()},
    )
    storage.write_parquet(keys.forecasts(partition), frame)
    storage.write_parquet(keys.forecast_totals(partition), totals)
    daily = totals[totals["level"] == "total"]
    published_by = frame.drop_duplicates(["store_nbr", "family"])["model_version"].value_counts()
    return MaterializeResult(
        metadata={
            "rows": MetadataValue.int(len(frame)),
            "model_version": ", ".join(f"{v} ({c} series)" for v, c in published_by.items()),
            "champion": summary["champion"],
            "horizon": f"{horizon[0]:%Y-%m-%d} .. {horizon[-1]:%Y-%m-%d}",
            "total_units_forecast": round(float(frame["mean"].sum()), 1),
            "known_closed_series_days": MetadataValue.int(int(closed.sum())),
            "daily_totals": MetadataValue.md(
                "| date | all stores, mean | P10 | P90 |\n|---|---|---|---|\n"
                + "\n".join(f"| {r.date} | {r.mean:,.0f} | {r.p10:,.0f} | {r.p90:,.0f} |" for r in daily.itertuples())
            ),
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


def _embedded(png: bytes, title: str) -> str:
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
    labels = labels_of(summary)  # the trained model's label names its backend
    cutoff = pd.Timestamp(manifest["cutoff"])
    fc = storage.read_parquet(keys.forecasts(partition)).assign(date=lambda f: pd.to_datetime(f["date"]))
    totals = storage.read_parquet(keys.forecast_totals(partition)).assign(date=lambda f: pd.to_datetime(f["date"]))
    backtest = storage.read_parquet(keys.evaluation_backtest(partition))
    first_backtest_day = pd.to_datetime(backtest["date"]).min()
    # Only the weeks the plots show (before the backtest, before the cut-off, and after it), never all history.
    since = min(cutoff - pd.Timedelta(days=70), first_backtest_day - pd.Timedelta(days=42))
    cleaned = read_cleaned_series(storage, columns=["date", "store_nbr", "family", "sales"], since=since)
    cleaned = cleaned.assign(family=cleaned["family"].astype(str))
    horizon = pd.DatetimeIndex(manifest["horizon"])
    recent = cleaned[(cleaned["date"] > cutoff - pd.Timedelta(days=70)) & (cleaned["date"] <= cutoff)]
    after = cleaned[cleaned["date"].isin(horizon)]  # a past cut-off: the sales that followed it
    champions, best = summary["champions"], summary["best_baseline"]

    def followed(sub: pd.DataFrame) -> np.ndarray | None:
        if sub.empty:
            return None
        return sub.groupby("date")["sales"].sum().reindex(horizon).to_numpy(dtype=float)

    whole_total = totals[totals["level"] == "total"].sort_values("date")
    past = recent.groupby("date")["sales"].sum()
    mix = summary["champion"]
    whole = plotting.Panel(
        "All stores, all families",
        past.index,
        past.to_numpy(),
        horizon,
        whole_total["mean"].to_numpy(),
        whole_total["p10"].to_numpy(),
        whole_total["p90"].to_numpy(),
        "published forecast (each family's champion)",
        actual=followed(after),
        actual_label="actual sales after the cut-off",
    )
    total = plotting.render(
        [whole],
        f"Forecast after {cutoff:%d %b %Y}: all stores",
        f"Published: {mix}. Band: P10-P90 of the total, calibrated on the total's own backtest errors.",
    )
    top = recent.groupby(["store_nbr", "family"])["sales"].sum().sort_values(ascending=False).head(4).index.tolist()

    def series_panel(s, f):
        sub = fc[(fc.store_nbr == s) & (fc.family == f)].sort_values("date")
        hist = recent[(recent.store_nbr == s) & (recent.family == f)]
        return plotting.Panel(
            f"Store {s} - {f}: {labels[champions[f]]}",
            hist["date"],
            hist["sales"].to_numpy(),
            horizon,
            sub["mean"].to_numpy(),
            sub["p10"].to_numpy(),
            sub["p90"].to_numpy(),
            "published forecast",
            closed=pd.DatetimeIndex(sub["date"][sub["store_closed"].to_numpy()]),
            actual=followed(after[(after.store_nbr == s) & (after.family == f)]),
            actual_label="actual sales after the cut-off",
        )

    top_series = plotting.render(
        [series_panel(s, f) for s, f in top], f"Forecast after {cutoff:%d %b %Y}: the largest series"
    )
    bt = backtest.assign(date=pd.to_datetime(backtest["date"]), family=backtest["family"].astype(str))
    before = cleaned[
        (cleaned["date"] < bt["date"].min()) & (cleaned["date"] > bt["date"].min() - pd.Timedelta(days=42))
    ]

    def overlay(title, hist, sub, band: bool):
        daily = sub.groupby("date")[
            ["actual", "published_mean", "published_p10", "published_p90", f"{best}_mean"]
        ].sum()
        history = hist.groupby("date")["sales"].sum()
        return plotting.Panel(
            title,
            history.index,
            history.to_numpy(),
            daily.index,
            daily["published_mean"].to_numpy(),
            daily["published_p10"].to_numpy() if band else None,
            daily["published_p90"].to_numpy() if band else None,
            "published rule, backtest",
            actual=daily["actual"].to_numpy(),
            baseline=daily[f"{best}_mean"].to_numpy(),
            baseline_label=labels[best],
            window_starts=pd.DatetimeIndex([pd.Timestamp(w[0]) for w in summary["windows"]]),
        )

    s0, f0 = top[0]
    published = summary["published"]["overall"]
    backtest_png = plotting.render(
        [
            overlay("All stores, all families", before, bt, band=False),
            overlay(
                f"Store {s0} - {f0}",
                before[(before.store_nbr == s0) & (before.family == f0)],
                bt[(bt.store_nbr == s0) & (bt.family == f0)],
                band=True,
            ),
        ],
        f"Backtest on {len(summary['windows'])} windows: forecast vs what really happened",
        f"Mean RMSLE over the windows: published {published['rmsle']:.3f}, {labels[best]} "
        f"{summary['scores'][best]['rmsle']:.3f}; P10-P90 coverage {published['coverage']:.0%} (80 % nominal).",
    )
    windows_png = plotting.window_scores(
        {labels[m]: [w["rmsle"] for w in c["windows"]] for m, c in summary["candidates"].items()}
        | {"published mix": [w["rmsle"] for w in summary["published"]["windows"]]},
        [f"{a} .. {b}" for a, b in summary["windows"]],
        "Backtest RMSLE per window (lower is better)",
    )
    prefix = keys.plots_prefix(partition)
    files = dict(zip(keys.PLOT_FILES, (total, top_series, backtest_png, windows_png)))
    for name, png in files.items():
        storage.write_bytes(f"{prefix}/{name}", png)
    return MaterializeResult(
        metadata={
            "forecast_total": MetadataValue.md(_embedded(total, "All stores: forecast")),
            "forecast_largest_series": MetadataValue.md(_embedded(top_series, "Largest series: forecast")),
            "backtest": MetadataValue.md(_embedded(backtest_png, "Backtest: forecast vs actual")),
            "backtest_windows": MetadataValue.md(_embedded(windows_png, "Backtest: RMSLE per window")),
            "files": MetadataValue.json({name: storage.uri(f"{prefix}/{name}") for name in files}),
        },
        data_version=content_version(*files.values()),
    )
