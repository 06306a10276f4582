"""Low-stock alerts: which store x family pairs will probably run out before a reorder can arrive.

Pure: pandas and numpy only. An inventory snapshot is a CSV with one row per store and family:
``store_nbr, family, on_hand, lead_time_days`` (units on hand now; days until a reorder placed today arrives). A pair
is at risk when the forecast P90 demand over its lead time exceeds what is on hand.

Summing the daily P90s over the lead time gives more than the P90 of the total (days are not perfectly correlated),
so the rule errs on the side of warning; ``demand_mean`` is listed beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core.errors import FavoritaDataError

INVENTORY_COLUMNS = ("store_nbr", "family", "on_hand", "lead_time_days")


def read_inventory(path: str | Path) -> pd.DataFrame:
    """The inventory snapshot, validated: every column present, integer stores and lead times, numeric non-negative
    stock, one row per store and family. Refusals name the file, column, value and line."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise FavoritaDataError(str(path), "file not found", fix="pass the inventory snapshot CSV (see ops_jobs/examples/inventory.csv)")
    try:
        frame = pd.read_csv(path, dtype={"family": str})
    except pd.errors.EmptyDataError:
        raise FavoritaDataError(name, "the file is empty", fix=f"write the header {','.join(INVENTORY_COLUMNS)} and one row per store and family") from None
    missing = [c for c in INVENTORY_COLUMNS if c not in frame.columns]
    if missing:
        raise FavoritaDataError(name, "a required column is missing", column=missing[0],
                                fix=f"the header must hold {', '.join(INVENTORY_COLUMNS)}")  # fmt: skip
    if frame.empty:
        raise FavoritaDataError(name, "the file has a header but no rows", fix="add one row per store and family")
    for column, kind in (("store_nbr", "integer"), ("on_hand", "number"), ("lead_time_days", "integer")):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ((values % 1 != 0) if kind == "integer" else False)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise FavoritaDataError(name, f"a value is not a{'n' if kind == 'integer' else ''} {kind}", column=column,
                                    value=frame[column].iloc[i], rows=[i + 2], fix=f"write {column} as a{'n' if kind == 'integer' else ''} {kind}")  # fmt: skip
        if (values < 0).any():
            i = int(np.flatnonzero((values < 0).to_numpy())[0])
            raise FavoritaDataError(name, "a value is negative", column=column, value=frame[column].iloc[i],
                                    rows=[i + 2], fix=f"{column} counts units or days; it cannot be below 0")  # fmt: skip
        frame[column] = values.astype("int64" if kind == "integer" else "float64")
    if (frame["lead_time_days"] < 1).any():
        i = int(np.flatnonzero((frame["lead_time_days"] < 1).to_numpy())[0])
        raise FavoritaDataError(name, "a lead time is shorter than a day", column="lead_time_days", value=0, rows=[i + 2],
                                fix="lead_time_days is at least 1 (a reorder arrives tomorrow at the earliest)")  # fmt: skip
    duplicated = frame.duplicated(["store_nbr", "family"], keep="first")
    if duplicated.any():
        i = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise FavoritaDataError(name, "a store and family appear twice", column="store_nbr, family",
                                value=f"{frame['store_nbr'].iloc[i]}, {frame['family'].iloc[i]}", rows=[i + 2],
                                fix="keep one row per store and family")  # fmt: skip
    return frame[list(INVENTORY_COLUMNS)]


def low_stock(forecasts: pd.DataFrame, inventory: pd.DataFrame, file: str = "inventory.csv") -> pd.DataFrame:
    """One row per inventory row: demand (P90 and mean) summed over the first ``lead_time_days`` forecast days,
    ``shortfall = demand_p90 - on_hand`` and ``at_risk`` (shortfall > 0); at-risk rows first, worst first.
    ``covered_days`` < lead_time_days says the forecast horizon is shorter than the lead time (demand beyond it is
    not counted). An inventory pair the forecasts do not hold is refused."""
    f = forecasts.sort_values(["store_nbr", "family", "date"]).copy()
    f["day"] = f.groupby(["store_nbr", "family"]).cumcount() + 1
    known = set(zip(f["store_nbr"].astype(int), f["family"]))
    for i, (store, family) in enumerate(zip(inventory["store_nbr"], inventory["family"])):
        if (int(store), family) not in known:
            stores = set(f["store_nbr"].astype(int))
            column, value = ("store_nbr", store) if int(store) not in stores else ("family", family)
            raise FavoritaDataError(file, f"unknown {'store' if column == 'store_nbr' else 'family'}: the forecasts hold no such series",
                                    column=column, value=value, rows=[i + 2],
                                    fix="use the store numbers of stores.csv and the family names of train.csv")  # fmt: skip
    merged = f.merge(inventory, on=["store_nbr", "family"], how="inner")
    window = merged[merged["day"] <= merged["lead_time_days"]]
    demand = window.groupby(["store_nbr", "family"]).agg(
        demand_p90=("p90", "sum"), demand_mean=("mean", "sum"), covered_days=("day", "max"), first_day=("date", "min"),
    )  # fmt: skip
    out = inventory.merge(demand.reset_index(), on=["store_nbr", "family"], how="left")
    out["shortfall"] = out["demand_p90"] - out["on_hand"]
    out["at_risk"] = out["shortfall"] > 0
    out["covered_days"] = out["covered_days"].astype("int64")
    out = out.sort_values(["at_risk", "shortfall"], ascending=[False, False], kind="stable").reset_index(drop=True)
    return out[["store_nbr", "family", "on_hand", "lead_time_days", "covered_days", "first_day", "demand_mean",
                "demand_p90", "shortfall", "at_risk"]]  # fmt: skip


def summary_text(table: pd.DataFrame, month: str, limit: int = 20) -> str:
    """A planner's summary: how many pairs are at risk, and the worst ones."""
    risky = table[table["at_risk"]]
    lines = [f"{len(risky)} of {len(table)} store x family pairs may run out before a reorder arrives "
             f"(forecast cut-off {month}; P90 demand over the lead time exceeds stock on hand)."]  # fmt: skip
    for row in risky.head(limit).itertuples():
        lines.append(f"- store {row.store_nbr}, {row.family}: on hand {row.on_hand:,.0f}, P90 demand "
                     f"{row.demand_p90:,.0f} over {row.lead_time_days} days (short {row.shortfall:,.0f})")  # fmt: skip
    if len(risky) > limit:
        lines.append(f"... and {len(risky) - limit} more (see the low_stock table)")
    return "\n".join(lines)
