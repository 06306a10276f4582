"""Features for days after the data: the horizon a forecast covers.

Holidays, paydays and store closures for future days come from the calendar; promotions come from test.csv when it
covers the horizon (Kaggle's planned promotions), else from the cleaned history when the horizon lies inside it
(a backtest or a past cut-off: promotions are planned ahead, so they are known at forecast time), else zero.
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
) -> pd.DataFrame:
    """One row per (store_nbr, family) in ``series`` and date in ``horizon``, with the dynamic-feature columns
    onpromotion, is_holiday, is_event, is_payday, store_closed.

    ``promotions`` (store_nbr, family, date, onpromotion) supplies known promotions; missing ones are 0.
    25 December is a closed day, as every store in the data is closed then.
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
    grid["store_closed"] = np.tile((horizon.month == 12) & (horizon.day == 25), n_keys)
    grid["onpromotion"] = 0
    if promotions is not None and len(promotions):
        known = promotions[["store_nbr", "family", "date", "onpromotion"]].astype({"family": str})
        known = known[known["date"].isin(horizon)]
        grid = grid.drop(columns="onpromotion").merge(known, on=["store_nbr", "family", "date"], how="left")
        grid["onpromotion"] = grid["onpromotion"].fillna(0).astype(np.int64)
    return grid


def known_promotions(test: pd.DataFrame | None, cleaned: pd.DataFrame, horizon: pd.DatetimeIndex) -> tuple[pd.DataFrame, str]:
    """Known promotions for the horizon, day by day: test.csv (Kaggle's promotion plan) where it has the day,
    else the cleaned history (a past cut-off), else none (0). Returns them and a description of the sources."""
    columns = ["store_nbr", "family", "date", "onpromotion"]
    planned = test[test["date"].isin(horizon)][columns] if test is not None else cleaned.iloc[0:0][columns]
    history = cleaned[cleaned["date"].isin(horizon) & ~cleaned["date"].isin(planned["date"])][columns]
    counts = {"test.csv": planned["date"].nunique(), "cleaned_series": history["date"].nunique()}
    counts["none (assumed 0)"] = len(horizon) - sum(counts.values())
    used = {name: n for name, n in counts.items() if n}
    source = next(iter(used)) if len(used) == 1 else ", ".join(f"{name}: {n} days" for name, n in used.items())
    known = [frame.astype({"family": str}) for frame in (planned, history) if len(frame)]
    return (pd.concat(known, ignore_index=True) if known else planned), source
