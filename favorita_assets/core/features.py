"""Features for days after the data: the horizon a forecast covers.

Holidays and paydays for future days come from the calendar; closures known ahead are 25 December (every store) and
the days of the year a store has been closed on every year of its history (:func:`recurring_closures`; in Kaggle's
data 1 January at most stores); any other closure (a refurbishment, a disaster) cannot be known ahead. Promotions
come from test.csv when it covers the horizon (Kaggle's planned promotions), else from the cleaned history when the
horizon lies inside it (a backtest or a past cut-off: promotions are planned ahead, so they are known at forecast
time), else zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from favorita_assets.core.holidays import holiday_calendar


def horizon_features(
    series: pd.DataFrame,
    horizon: pd.DatetimeIndex,
    stores: pd.DataFrame,
    holidays: pd.DataFrame,
    promotions: pd.DataFrame | None = None,
    closures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (store_nbr, family) in ``series`` and date in ``horizon``, with the dynamic-feature columns
    onpromotion, is_holiday, is_event, is_payday, store_closed.

    ``promotions`` (store_nbr, family, date, onpromotion) supplies known promotions; missing ones are 0.
    store_closed marks the closures known ahead: 25 December, and ``closures`` (from :func:`recurring_closures`).
    """
    keys = series[["store_nbr", "family"]].drop_duplicates().astype({"family": str}).reset_index(drop=True)
    n_keys, n_days = len(keys), len(horizon)
    grid = pd.DataFrame(
        {
            "store_nbr": np.repeat(keys["store_nbr"].to_numpy(), n_days),
            "family": np.repeat(keys["family"].to_numpy(), n_days),
            "date": np.tile(horizon.values, n_keys),
        }
    )
    store_nbrs = np.sort(keys["store_nbr"].unique())
    calendar = holiday_calendar(holidays, stores[stores["store_nbr"].isin(store_nbrs)], horizon)
    pos = calendar.store_position(grid["store_nbr"].to_numpy())
    day = np.tile(np.arange(n_days), n_keys)
    flags = calendar.flags
    grid["is_holiday"] = (flags["holiday_national"] | flags["holiday_regional"] | flags["holiday_local"])[pos, day]
    grid["is_event"] = flags["is_event"][pos, day]
    grid["is_payday"] = np.tile(((horizon.day == 15) | horizon.is_month_end), n_keys)
    grid["store_closed"] = known_closed(grid["store_nbr"].to_numpy(), pd.DatetimeIndex(grid["date"]), closures)
    grid["onpromotion"] = 0
    if promotions is not None and len(promotions):
        known = promotions[["store_nbr", "family", "date", "onpromotion"]].astype({"family": str})
        known = known[known["date"].isin(horizon)]
        grid = grid.drop(columns="onpromotion").merge(known, on=["store_nbr", "family", "date"], how="left")
        grid["onpromotion"] = grid["onpromotion"].fillna(0).astype(np.int64)
    return grid


def known_promotions(
    test: pd.DataFrame | None, cleaned: pd.DataFrame, horizon: pd.DatetimeIndex
) -> tuple[pd.DataFrame, str]:
    """Known promotions for the horizon, day by day: test.csv (Kaggle's promotion plan) where it has the day,
    else the cleaned history (a past cut-off). Days neither has are left out of the result (they are estimated
    series by series from their history when the channels are encoded, see :func:`weekday_promotions`). Returns
    them and a description of the sources."""
    columns = ["store_nbr", "family", "date", "onpromotion"]
    planned = test[test["date"].isin(horizon)][columns] if test is not None else cleaned.iloc[0:0][columns]
    history = cleaned[cleaned["date"].isin(horizon) & ~cleaned["date"].isin(planned["date"])][columns]
    counts = {"test.csv": planned["date"].nunique(), "cleaned_series": history["date"].nunique()}
    counts["estimated (each series' last 4 weeks)"] = len(horizon) - sum(counts.values())
    used = {name: n for name, n in counts.items() if n}
    source = next(iter(used)) if len(used) == 1 else ", ".join(f"{name}: {n} days" for name, n in used.items())
    known = [frame.astype({"family": str}) for frame in (planned, history) if len(frame)]
    return (pd.concat(known, ignore_index=True) if known else planned), source


def recurring_closures(cleaned: pd.DataFrame, before=None, min_years: int = 2) -> pd.DataFrame:
    """The days of the year (store_nbr, month, day) on which a store was closed in every year of its history that
    covers that day, and in at least ``min_years`` of them: closures known ahead (in Kaggle's data, 1 January at most
    stores). Only days before ``before`` count, so a backtest learns only from what preceded it. 25 December is left
    out: the calendar closes every store then."""
    days = cleaned[["store_nbr", "date", "store_closed"]]
    if before is not None:
        days = days[days["date"] < pd.Timestamp(before)]
    per_day = days.drop_duplicates(["store_nbr", "date"])  # a closure is the same for every family of a store
    stats = (
        per_day.groupby(
            [per_day["store_nbr"], per_day["date"].dt.month.rename("month"), per_day["date"].dt.day.rename("day")]
        )["store_closed"]
        .agg(["sum", "size"])
        .reset_index()
    )
    keep = (
        (stats["sum"] == stats["size"])
        & (stats["size"] >= min_years)
        & ~((stats["month"] == 12) & (stats["day"] == 25))
    )
    return stats.loc[keep, ["store_nbr", "month", "day"]].reset_index(drop=True)


def known_closed(store_nbr: np.ndarray, dates: pd.DatetimeIndex, closures: pd.DataFrame | None = None) -> np.ndarray:
    """For each (store_nbr[i], dates[i]): is the store known to be closed? 25 December always; the days of the year
    in ``closures`` (store_nbr, month, day) for their store."""
    dates = pd.DatetimeIndex(dates)
    closed = (dates.month == 12) & (dates.day == 25)
    if closures is not None and len(closures):
        days = pd.DataFrame({"store_nbr": np.asarray(store_nbr), "month": dates.month, "day": dates.day})
        hits = days.merge(closures.assign(hit=True), on=["store_nbr", "month", "day"], how="left")["hit"]
        closed = closed | hits.notna().to_numpy()
    return np.asarray(closed, dtype=bool)


def weekday_promotions(counts: np.ndarray, days: int, weeks: int = 4) -> np.ndarray:
    """An estimate of one series' promotions on the ``days`` after its history ``counts`` (items on promotion per
    day, oldest first), for days whose plan is unknown: the mean of the same weekday over its last ``weeks`` weeks
    (fewer when the history is shorter; 0 without any). Assuming no promotion at all would forecast every promoted
    family low; the backtest uses the same estimate when the horizon's plan is unknown, so it scores what is
    published."""
    counts = np.asarray(counts, dtype=np.float64)
    usable = min(weeks, len(counts) // 7) * 7
    if usable == 0:
        return np.zeros(days)
    profile = counts[len(counts) - usable :].reshape(-1, 7).mean(axis=0)
    return np.tile(profile, -(-days // 7))[:days]
