"""The forecast value added's plain parts, beside its asset: which past cut-offs have their horizon's sales now,
scoring them from storage, the track record of every month, and the bias and drift alerts sent once."""

from __future__ import annotations

import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.core import overrides
from favorita_assets.core import value_added as fva
from favorita_assets.core.quality import CheckOutcome
from favorita_assets.resources.cleaned_series import read_cleaned_series
from favorita_assets.resources.storage import Storage

CHECK = "forecast_bias_within_backtest_range"


def published_before(storage: Storage, partition: str) -> list[str]:
    """The published cut-offs before ``partition`` (YYYY-MM) that can be scored, oldest first."""
    months = {
        k.split("/")[1].removeprefix("cutoff_month=")
        for k in storage.list_keys("forecasts")
        if k.endswith("/forecasts.parquet")
    }
    return sorted(
        m
        for m in months
        if m < partition[:7]  # and still whole: its horizon (manifest) and its backtest (the range) are needed
        and storage.exists(keys.training_manifest(m))
        and storage.exists(keys.evaluation_backtest(m))
    )


def _forecasts_of(storage: Storage, month: str) -> pd.DataFrame:
    """The adjusted forecasts of a cut-off; a cut-off published before overrides existed: its statistical ones."""
    if storage.exists(keys.adjusted_forecasts(month)):
        return storage.read_parquet(keys.adjusted_forecasts(month))
    return overrides.adjust(storage.read_parquet(keys.forecasts(month)), None)


def score_past_cutoffs(storage: Storage, partition: str) -> tuple[list[str], list[str]]:
    """Score every published cut-off before ``partition`` whose whole horizon the cleaned series now hold, writing
    its scores (keys.value_added); returns the months scored and those still waiting for their sales. Scoring
    again gives the same rows, so a re-run or a backfill rewrites them unchanged."""
    months = published_before(storage, partition)
    if not months:
        return [], []
    manifests = {m: storage.read_json(keys.training_manifest(m)) for m in months}
    since = min(pd.Timestamp(v["cutoff"]) for v in manifests.values()) - pd.Timedelta(days=7)
    sales = read_cleaned_series(storage, columns=["date", "store_nbr", "family", "sales"], since=since)
    sales = sales.assign(date=pd.to_datetime(sales["date"]))
    last = sales["date"].max()
    scored, waiting = [], []
    for month, manifest in manifests.items():
        horizon = pd.DatetimeIndex(manifest["horizon"])
        if horizon[-1] > last:
            waiting.append(month)
            continue
        cutoff = pd.Timestamp(manifest["cutoff"])
        actuals = sales[sales["date"].isin(horizon)]
        naive = fva.naive_forecast(sales[sales["date"] <= cutoff], cutoff, horizon)
        backtest = storage.read_parquet(
            keys.evaluation_backtest(month), columns=["window", "family", "actual", "published_mean"]
        )
        scores = fva.score_month(month, _forecasts_of(storage, month), actuals, naive, fva.backtest_ranges(backtest))
        storage.write_parquet(keys.value_added(month), scores)
        scored.append(month)
    return scored, waiting


def read_track_record(storage: Storage, partition: str) -> pd.DataFrame:
    """Every scored month up to ``partition``'s cut-off, oldest first (SCORE_COLUMNS)."""
    frames = [
        storage.read_parquet(k)
        for k in sorted(storage.list_keys(keys.VALUE_ADDED_PREFIX))
        if k.endswith("/scores.parquet") and k.split("/")[1].removeprefix("cutoff_month=") < partition[:7]
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=fva.SCORE_COLUMNS)


def alerts_to_send(storage: Storage, current: list[dict]) -> list[dict]:
    """The alerts not sent before (each family, kind and start once), recording the ones now out of range."""
    sent = storage.read_json(keys.DRIFT_ALERTS) if storage.exists(keys.DRIFT_ALERTS) else {}
    new, record = fva.to_send(current, sent)
    if record != sent:
        storage.write_json(keys.DRIFT_ALERTS, record)
    return new


def check(current: list[dict], scored_months: int) -> CheckOutcome:
    """The bias and drift check: a warning naming each family out of its backtest's range."""
    if not current:
        text = (
            f"every family's cumulative bias and newest WAPE within its backtest's range ({scored_months} months)"
            if scored_months
            else "no past cut-off has its horizon's sales yet: nothing to compare"
        )
        return CheckOutcome(CHECK, True, text)
    return CheckOutcome(
        CHECK,
        False,
        "; ".join(fva.alert_text(a) for a in current),
        metadata={"families": ", ".join(sorted({a["family"] for a in current}))},
    )
