"""The inventory snapshot: what each store holds of each family, and how it reorders.

Pure: pandas and numpy only. One row per store and family, in a CSV or Parquet file:

- required: ``store_nbr``, ``family``, ``on_hand`` (units in stock now), ``on_order`` (units ordered, not yet
  arrived), ``lead_time_days`` (days until an order placed today arrives, >= 1), ``review_period_days`` (days
  until the next chance to order, >= 1);
- optional: ``pack_size`` (orders are whole packs, >= 1), ``target_service_level`` (the wanted probability of no
  stockout before the next order can arrive, in (0, 1)), and the newsvendor costs ``unit_cost``,
  ``holding_cost_rate`` (a year's holding cost as a fraction of the unit cost) and ``stockout_cost`` (per unit
  short). The three costs go together: a row gives all of them or none. ``unit_price`` (what a unit sells for)
  turns the plan's units into money: the value of each order and the money at risk.

Refusals name the file, the column, the value and the line (the header is line 1; a Parquet row n is line n + 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core.errors import FavoritaDataError

REQUIRED = ("store_nbr", "family", "on_hand", "on_order", "lead_time_days", "review_period_days")
COSTS = ("unit_cost", "holding_cost_rate", "stockout_cost")
OPTIONAL = ("pack_size", "target_service_level", *COSTS, "unit_price")
INVENTORY_COLUMNS = REQUIRED + OPTIONAL
INVENTORY_FILES = ("inventory.csv", "inventory.parquet")  # where the data folder or the landing zone holds it

# column -> (kind, lowest allowed, why)
_RULES = {
    "store_nbr": ("integer", 1, "a store number of stores.csv"),
    "on_hand": ("number", 0, "on_hand counts units; it cannot be below 0"),
    "on_order": ("number", 0, "on_order counts units; it cannot be below 0"),
    "lead_time_days": ("integer", 1, "lead_time_days is at least 1 (an order arrives tomorrow at the earliest)"),
    "review_period_days": (
        "integer",
        1,
        "review_period_days is at least 1 (the next order can be placed tomorrow at the earliest)",
    ),
    "pack_size": ("integer", 1, "pack_size is at least 1 unit (leave it empty for single units)"),
    "unit_cost": ("number", 0, "unit_cost is a price; it cannot be below 0"),
    "holding_cost_rate": ("number", 0, "holding_cost_rate is a yearly fraction of the unit cost, such as 0.25"),
    "stockout_cost": ("number", 0, "stockout_cost is the cost of a unit short (lost margin); it cannot be below 0"),
    "unit_price": ("number", 0, "unit_price is what a unit sells for; it cannot be below 0"),
    "target_service_level": (
        "number",
        0,
        "target_service_level is a probability strictly between 0 and 1, such as 0.95",
    ),
}


def _read(path: Path) -> pd.DataFrame:
    name = path.name
    fix_header = (
        f"write the header {','.join(REQUIRED)} (and any of {', '.join(OPTIONAL)}) and one row per store and family"
    )
    if path.suffix.lower() == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as error:  # noqa: BLE001 - pyarrow's many error types, one message for the user
            raise FavoritaDataError(
                name,
                f"the file is not a readable Parquet file ({type(error).__name__})",
                fix="write the snapshot with pandas.DataFrame.to_parquet, or as a CSV",
            ) from None
    try:
        return pd.read_csv(path, dtype={"family": str}, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise FavoritaDataError(name, "the file is empty", fix=fix_header) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise FavoritaDataError(
            name, f"the file is not a readable CSV ({str(error).splitlines()[0]})", fix=fix_header
        ) from None


def read_inventory(path: str | Path) -> pd.DataFrame:
    """The inventory snapshot, validated; optional columns that are absent are added empty (NaN)."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise FavoritaDataError(
            str(path),
            "file not found",
            fix=f"land an inventory snapshot ({' or '.join(INVENTORY_FILES)}; see ops_jobs/examples/inventory.csv)",
        )
    frame = _read(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise FavoritaDataError(
            name, "a required column is missing", column=missing[0], fix=f"the header must hold {', '.join(REQUIRED)}"
        )
    if frame.empty:
        raise FavoritaDataError(name, "the file has a header but no rows", fix="add one row per store and family")
    frame = frame.reset_index(drop=True)
    family = frame["family"]
    blank = family.isna() | (family.astype(str).str.strip() == "")
    if blank.any():
        i = int(np.flatnonzero(blank.to_numpy())[0])
        raise FavoritaDataError(
            name,
            "a family is empty",
            column="family",
            value="",
            rows=[i + 2],
            fix="write the family name as in train.csv, such as BREAD/BAKERY",
        )
    frame["family"] = family.astype(str).str.strip()
    for column, (kind, lowest, why) in _RULES.items():
        if column not in frame.columns:
            frame[column] = np.nan
            continue
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce")
        optional = column in OPTIONAL
        given = raw.notna() & (raw.astype(str).str.strip() != "")
        bad = given & (
            values.isna() | ~np.isfinite(values.fillna(0)) | ((values % 1 != 0) if kind == "integer" else False)
        )
        if not optional:
            bad |= ~given
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            article = "an" if kind == "integer" else "a"
            raise FavoritaDataError(
                name,
                f"a value is not {article} {kind}",
                column=column,
                value=raw.iloc[i] if given.iloc[i] else "",
                rows=[i + 2],
                fix=f"write {column} as {article} {kind}" + (" or leave it empty" if optional else ""),
            )
        low = values < lowest
        if column == "target_service_level":
            low = (values <= 0) | (values >= 1)
        if low.any():
            i = int(np.flatnonzero(low.to_numpy())[0])
            raise FavoritaDataError(
                name, "a value is out of range", column=column, value=raw.iloc[i], rows=[i + 2], fix=why
            )
        frame[column] = values.astype("int64") if kind == "integer" and not optional else values.astype("float64")
    given_costs = frame[list(COSTS)].notna()
    partial = given_costs.any(axis=1) & ~given_costs.all(axis=1)
    if partial.any():
        i = int(np.flatnonzero(partial.to_numpy())[0])
        absent = [c for c in COSTS if not given_costs[c].iloc[i]]
        raise FavoritaDataError(
            name,
            "a row gives some of the costs but not all",
            column=absent[0],
            value="",
            rows=[i + 2],
            fix=f"give {', '.join(COSTS)} together (the newsvendor needs all three), or none",
        )
    duplicated = frame.duplicated(["store_nbr", "family"], keep="first")
    if duplicated.any():
        i = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise FavoritaDataError(
            name,
            "a store and family appear twice",
            column="store_nbr, family",
            value=f"{frame['store_nbr'].iloc[i]}, {frame['family'].iloc[i]}",
            rows=[i + 2],
            fix="keep one row per store and family",
        )
    return frame[list(INVENTORY_COLUMNS)]


def check_series(inventory: pd.DataFrame, stores: set[int], pairs: set[tuple[int, str]], file: str) -> None:
    """Refuse a snapshot row whose store or family the forecasts do not hold."""
    for i, (store, family) in enumerate(zip(inventory["store_nbr"], inventory["family"], strict=True)):
        if (int(store), family) in pairs:
            continue
        column, value = ("store_nbr", int(store)) if int(store) not in stores else ("family", family)
        what = "store" if column == "store_nbr" else "family"
        raise FavoritaDataError(
            file,
            f"unknown {what}: the forecasts hold no such series",
            column=column,
            value=value,
            rows=[i + 2],
            fix="use the store numbers of stores.csv and the family names of train.csv",
        )


def example_snapshot(daily_sales: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A plausible snapshot for generated data, sized from each series' recent sales (``daily_sales``: store_nbr,
    family, sales over the last weeks): lead times of 2 to 7 days, weekly reviews, stock from half the lead time's
    worth to 50 days' worth, some of it on order; some rows carry costs, packs or a service level of their own."""
    rng = np.random.default_rng(seed)
    per_day = daily_sales.groupby(["store_nbr", "family"], observed=True)["sales"].mean().reset_index()
    n = len(per_day)
    lead = rng.integers(2, 8, size=n)
    # days of stock: about 1 in 10 short of the lead time (a stockout risk), 1 in 10 far beyond (overstock)
    cover = np.choose(
        rng.choice(5, size=n, p=[0.1, 0.25, 0.3, 0.25, 0.1]),
        [lead * 0.5, lead + 3.0, lead + 7.0, lead + 12.0, np.full(n, 50.0)],
    )
    out = pd.DataFrame(
        {
            "store_nbr": per_day["store_nbr"].astype(int),
            "family": per_day["family"].astype(str),
            "on_hand": np.where(per_day["sales"] > 0, np.maximum(np.ceil(per_day["sales"] * cover), 3), 0).astype(int),
            "on_order": np.where(rng.random(n) < 0.3, np.round(per_day["sales"] * lead), 0.0).astype(int),
            "lead_time_days": lead,
            "review_period_days": 7,
        }
    )
    packs = rng.random(n) < 0.5
    out["pack_size"] = pd.array(np.where(packs, rng.choice([6, 12, 24], size=n), 0), dtype="Int64")
    out.loc[~packs, "pack_size"] = pd.NA
    costed = rng.random(n) < 0.5
    out["unit_cost"] = np.where(costed, np.round(rng.uniform(0.5, 8.0, size=n), 2), np.nan)
    out["holding_cost_rate"] = np.where(costed, 0.25, np.nan)
    out["stockout_cost"] = np.where(
        costed, np.round(out["unit_cost"].fillna(0) * rng.uniform(0.2, 0.6, size=n), 2), np.nan
    )
    out["target_service_level"] = np.where(~costed & (rng.random(n) < 0.3), 0.98, np.nan)
    out["unit_price"] = np.where(
        costed, np.round(out["unit_cost"].fillna(0) * rng.uniform(1.2, 1.6, size=n), 2), np.nan
    )
    return out
