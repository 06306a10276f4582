"""Why a forecast is what it is: the LightGBM model's own feature contributions, grouped into drivers a planner
knows (the recent level, the weekly pattern, the calendar and paydays, promotions, holidays and events, closures,
the store and family), in units.

The model is the recursive LightGBM candidate, trained exactly as in the backtest (same data, seed and settings,
deterministic), and asked for ``pred_contrib`` on every step of the horizon it forecasts. Its contributions add up
in log1p units: ``forecast = expm1(baseline + sum of contributions)``. They are turned into units by sharing
``forecast - expm1(baseline)`` among the drivers in proportion to their log contributions, so the baseline and the
drivers add up to the model's forecast, to the unit. The explanation is LightGBM's, of LightGBM's forecast; where a
family publishes another model's (DeepAR, ETS, the ensemble), the table shows both numbers side by side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from favorita_assets.core.candidates import CAT_NAMES, LightGBMModel, Problem
from favorita_assets.core.challengers import subset

DRIVERS = (
    "recent level",
    "weekly pattern",
    "calendar and paydays",
    "promotions",
    "holidays and events",
    "closures",
    "store and family",
)


# Drivers that say something only on the days their flags are set: on the other days (no holiday or event, the
# store open) their contribution is the normal day's and goes into the baseline, so "closures" is not a few units
# "added" on every open day.
QUIET_UNLESS = {"holidays and events": ("is_holiday", "is_event"), "closures": ("store_closed",)}


NAMED_FEATURES = {
    "day": "calendar and paydays",
    "month": "calendar and paydays",
    "dayofyear": "calendar and paydays",
    "is_payday": "calendar and paydays",
    "log1p_onpromotion": "promotions",
    "is_holiday": "holidays and events",
    "is_event": "holidays and events",
    "store_closed": "closures",
    **dict.fromkeys(CAT_NAMES, "store and family"),
}


def driver_of(feature: str) -> str:
    """The driver a model feature belongs to; an unknown feature is a bug here (a new feature needs a driver)."""
    if feature in ("lag7", "lag14", "lag21", "lag28") or feature.startswith(("seasonal_rolling_mean", "dayofweek")):
        return "weekly pattern"  # the same weekday in past weeks, and the weekday itself
    if feature.startswith(("lag", "rolling_mean")):
        return "recent level"  # the last six days and the 7- and 28-day means
    if feature not in NAMED_FEATURES:
        raise ValueError(f"the LightGBM feature {feature!r} has no driver in core/drivers.py")
    return NAMED_FEATURES[feature]


def to_units(log_contributions: np.ndarray, log_baseline: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, drivers) log1p contributions and each row's log1p baseline -> (baseline units, driver units,
    forecast units), the drivers sharing ``forecast - baseline`` in proportion to their log contributions (where
    they cancel out, by the slope of expm1 at the baseline)."""
    total = log_contributions.sum(axis=1)
    baseline = np.expm1(log_baseline)
    forecast = np.expm1(log_baseline + total)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(np.abs(total) > 1e-12, (forecast - baseline) / total, np.exp(log_baseline))
    return baseline, log_contributions * scale[:, None], forecast


def explain_as_evaluated(
    problems: list[Problem], families: np.ndarray, seed: int = 0, global_models_by: str = "chain"
) -> pd.DataFrame:
    """``explain`` with the evaluation's split: one LightGBM over the chain, or one per family (``families``: each
    series' family) when the evaluation trained them so; ``series`` numbers the rows of ``problems`` either way."""
    if global_models_by != "family":
        return explain(problems, seed=seed)
    parts = []
    for family in sorted(set(families.tolist())):
        rows = np.flatnonzero(families == family)
        part = explain(subset(problems, rows), seed=seed)
        parts.append(part.assign(series=rows[part["series"].to_numpy()]))
    return pd.concat(parts, ignore_index=True).sort_values(["series", "date"], ignore_index=True)


def explain(problems: list[Problem], seed: int = 0, threads: int | None = None) -> pd.DataFrame:
    """LightGBM's drivers of its forecast of the last problem's horizon (the days after the cut-off), trained as the
    backtest trains it on ``problems[0]`` (the earliest origin). One row per series (row ``series`` of the
    problems) and day: ``forecast`` (units), ``baseline`` (its average prediction; on a day without a holiday or
    event, or with the store open, with those drivers' normal-day share in it) and one column per driver in units;
    baseline + drivers = forecast."""
    candidate = LightGBMModel(seed=seed, threads=threads)
    model = candidate.fit(problems[0])
    regressor = model.models_["lightgbm"]
    steps: list[pd.DataFrame] = []

    def keep(features: pd.DataFrame) -> pd.DataFrame:
        steps.append(features.copy())
        return features

    horizon = problems[-1]
    predicted = candidate.predict(model, horizon, before_predict_callback=keep)
    frames = []
    column_of = [DRIVERS.index(driver_of(name)) for name in steps[0].columns]  # every step has the same features
    for step, features in enumerate(steps):
        contributions = np.asarray(regressor.predict(features, pred_contrib=True), dtype=float)
        grouped = np.zeros((len(features), len(DRIVERS)))
        for j, column in enumerate(column_of):
            grouped[:, column] += contributions[:, j]
        log_baseline = contributions[:, -1].copy()
        for driver, flags in QUIET_UNLESS.items():  # "no holiday" and "open" are the normal day: part of the baseline
            quiet = (features[list(flags)].to_numpy(dtype=float) == 0).all(axis=1)
            column = DRIVERS.index(driver)
            log_baseline[quiet] += grouped[quiet, column]
            grouped[quiet, column] = 0.0
        baseline, units, forecast = to_units(grouped, log_baseline)
        frame = pd.DataFrame(units, columns=list(DRIVERS))
        frame.insert(0, "baseline", baseline)
        frame.insert(0, "forecast", forecast)
        frame.insert(0, "date", horizon.future_dates[step])
        frame.insert(0, "series", np.sort(predicted["unique_id"].unique()).astype(int))
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True).sort_values(["series", "date"], ignore_index=True)
    check = predicted.sort_values(["unique_id", "ds"])["lightgbm"].to_numpy()
    if not np.allclose(np.log1p(out["forecast"].to_numpy()), check, atol=1e-6):  # the contributions are the model's
        raise AssertionError("LightGBM's contributions do not add up to its own forecast")
    return out


DRIVER_COLUMNS = [d.replace(" ", "_") for d in DRIVERS]
TABLE_COLUMNS = ["date", "store_nbr", "family", "days_ahead", "published_mean", "lightgbm", "baseline", *DRIVER_COLUMNS]


def drivers_table(explained: pd.DataFrame, series: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """``explain``'s rows as the stored table: store_nbr and family of each series (``series``: the manifest's
    rows, in the problems' order), the published forecast's mean beside LightGBM's, days_ahead, snake_case driver
    columns. ``published``: the forecasts table (date, store_nbr, family, mean)."""
    frame = explained.rename(columns={"forecast": "lightgbm", **dict(zip(DRIVERS, DRIVER_COLUMNS, strict=True))})
    rows = series.reset_index(drop=True).iloc[frame["series"].to_numpy()]
    frame["store_nbr"] = rows["store_nbr"].to_numpy().astype("int64")
    frame["family"] = rows["family"].astype(str).to_numpy()
    frame["date"] = pd.DatetimeIndex(frame["date"]).date
    frame["days_ahead"] = (frame.groupby("series").cumcount() + 1).astype("int64")
    means = published.assign(date=pd.DatetimeIndex(pd.to_datetime(published["date"])).date)
    means = means[["date", "store_nbr", "family", "mean"]].rename(columns={"mean": "published_mean"})
    frame = frame.merge(means.astype({"store_nbr": "int64", "family": str}), on=["date", "store_nbr", "family"])
    return frame[TABLE_COLUMNS].astype(dict.fromkeys(TABLE_COLUMNS[4:], "float64")).reset_index(drop=True)


def horizon_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per store x family, the horizon's units: the published forecast, LightGBM's, its baseline and each driver
    (sums over the days), sorted by store and family."""
    columns = ["published_mean", "lightgbm", "baseline", *DRIVER_COLUMNS]
    return table.groupby(["store_nbr", "family"], as_index=False)[columns].sum().sort_values(["store_nbr", "family"])


def markdown(units: pd.Series) -> str:
    """One row of horizon units (published, LightGBM, baseline, drivers) as a two-column Markdown table."""
    names = {"published_mean": "published forecast", "lightgbm": "LightGBM's forecast", "baseline": "baseline"}
    names.update(dict(zip(DRIVER_COLUMNS, DRIVERS, strict=True)))
    rows = [f"| {names[c]} | {units[c]:+,.0f} |" if c in DRIVER_COLUMNS else f"| {names[c]} | {units[c]:,.0f} |"
            for c in units.index]  # fmt: skip
    return "\n".join(["| over the horizon | units |", "|---|---:|", *rows])
