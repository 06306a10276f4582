"""Promotion what-if scenarios: "what if store S (or every store) promotes family F from day A to day B?"

Pure: pandas and numpy only. A scenario is a CSV (or Parquet) file with one row per promotion:
``store_nbr`` (a store number, or empty / ``all`` for every store), ``family``, ``start_date``, ``end_date`` (both
inclusive, within the forecast horizon) and ``onpromotion`` (how many items of the family are on promotion each
day, as in train.csv; 0 takes a planned promotion away).

The scenario replaces the promotions the forecast was made with on those series and days, and the same published
model forecasts again. Its effect is reported as the lift against the base plan: the same model on the same inputs
without the scenario, forecast beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core.deepar_format import DYNAMIC_FEATURES
from favorita_assets.core.errors import FavoritaDataError

SCENARIO_COLUMNS = ("store_nbr", "family", "start_date", "end_date", "onpromotion")
PROMO_ROW = DYNAMIC_FEATURES.index("log1p_onpromotion")
ALL_STORES = "all"

WHATIF_COLUMNS = [
    "scenario_row",
    "date",
    "store_nbr",
    "family",
    "onpromotion",
    "model",
    "model_version",
    "uses_promotions",
    "base_mean",
    "base_p10",
    "base_p50",
    "base_p90",
    "scenario_mean",
    "scenario_p10",
    "scenario_p50",
    "scenario_p90",
    "lift_mean",
    "lift_p10",
    "lift_p90",
]


def read_scenario(path: str | Path, stores: set[int], families: set[str], horizon: pd.DatetimeIndex) -> pd.DataFrame:
    """The scenario, validated against the forecasts it changes: known stores and families, dates inside the
    horizon, start <= end, non-negative promotion counts, no series-day promoted twice. Adds ``line`` (the file's
    line of each row)."""
    frame = read_planner_file(path, SCENARIO_COLUMNS, "promotion", "ops_jobs/examples/promotion_scenario.csv")
    name = Path(path).name
    out = []
    for i, row in frame.iterrows():
        line = i + 2

        def refuse(problem, column, value, fix, line=line):
            raise FavoritaDataError(name, problem, column=column, value=value, rows=[line], fix=fix)

        store = store_of(row["store_nbr"], stores, refuse)
        family = row["family"].strip()
        if family not in families:
            refuse(
                "unknown family: the forecasts hold no such family",
                "family",
                family,
                "use a family name of train.csv, such as BEVERAGES",
            )
        dates = {
            column: horizon_day(
                row[column],
                column,
                horizon,
                refuse,
                "a what-if can only change days the published forecast covers; pick dates in the horizon",
            )
            for column in ("start_date", "end_date")
        }
        if dates["start_date"] > dates["end_date"]:
            refuse(
                "start_date is after end_date",
                "start_date, end_date",
                f"{row['start_date']}, {row['end_date']}",
                "write the earlier date first",
            )
        try:
            promo = float(row["onpromotion"])
        except ValueError:
            refuse(
                "onpromotion is not a number",
                "onpromotion",
                row["onpromotion"],
                "write how many items are on promotion, such as 20",
            )
        if not np.isfinite(promo) or promo < 0:
            refuse(
                "onpromotion is negative" if promo < 0 else "onpromotion is not a number",
                "onpromotion",
                row["onpromotion"],
                "onpromotion counts items on promotion; 0 or more",
            )
        out.append(
            {
                "line": line,
                "store_nbr": store,
                "family": family,
                "start_date": dates["start_date"],
                "end_date": dates["end_date"],
                "onpromotion": promo,
            }
        )
    table = pd.DataFrame(out)
    expanded = expand(table, sorted(stores))
    twice = expanded.duplicated(["store_nbr", "family", "date"], keep=False)
    if twice.any():
        clash = expanded[twice].iloc[0]
        lines = sorted(
            expanded.loc[
                twice
                & (expanded["store_nbr"] == clash["store_nbr"])
                & (expanded["family"] == clash["family"])
                & (expanded["date"] == clash["date"]),
                "line",
            ]
        )
        raise FavoritaDataError(
            name,
            "two rows promote the same store, family and day",
            column="store_nbr, family, date",
            value=f"{clash['store_nbr']}, {clash['family']}, {clash['date']:%Y-%m-%d}",
            rows=lines,
            fix="keep one row per store, family and day",
        )
    return table


def read_planner_file(path: str | Path, columns: tuple[str, ...], what: str, example: str) -> pd.DataFrame:
    """A planner's CSV (or Parquet) file as text columns, stripped, with every one of ``columns`` present and at
    least one row; refused in one message otherwise. ``what``: what one row is (a promotion, an override)."""
    path = Path(path)
    name = path.name
    fix_header = f"write the header {','.join(columns)} and one row per {what}"
    if not path.is_file():
        raise FavoritaDataError(str(path), "file not found", fix=f"pass a {what} file (see {example})")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise FavoritaDataError(name, "the file is empty", fix=fix_header) from None
    except Exception as error:  # noqa: BLE001 - one message for every unreadable file
        raise FavoritaDataError(name, f"the file is not readable ({type(error).__name__})", fix=fix_header) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FavoritaDataError(name, "a required column is missing", column=missing[0], fix=fix_header)
    if frame.empty:
        raise FavoritaDataError(name, "the file has a header but no rows", fix=f"add one row per {what}")
    frame = frame.reset_index(drop=True).astype(dict.fromkeys(columns, str))
    return frame.assign(**{c: frame[c].str.strip() for c in columns})


def store_of(text: str, stores: set[int], refuse) -> int | None:
    """A store number of ``stores`` from a planner's file; None for every store (empty or 'all')."""
    store_text = text.strip()
    if store_text.lower() in ("", ALL_STORES, "nan", "none"):
        return None
    try:
        store = int(float(store_text))
    except ValueError:
        refuse("a store is not a number", "store_nbr", store_text, "write a store number, or 'all' for every store")
    if store != float(store_text) or store not in stores:
        refuse(
            "unknown store: the forecasts hold no such store",
            "store_nbr",
            store_text,
            f"use a store of stores.csv ({min(stores)}..{max(stores)} here), or 'all'",
        )
    return store


def horizon_day(text: str, column: str, horizon: pd.DatetimeIndex, refuse, why: str) -> pd.Timestamp:
    """``text`` as a day of ``horizon`` (YYYY-MM-DD); ``refuse(problem, column, value, fix)`` otherwise."""
    try:
        day = pd.Timestamp(pd.to_datetime(text.strip(), format="%Y-%m-%d"))
    except (ValueError, TypeError):
        refuse("a date is not YYYY-MM-DD", column, text, "write dates as YYYY-MM-DD")
    if not horizon[0] <= day <= horizon[-1]:
        refuse(
            f"a date is outside the forecast horizon {horizon[0]:%Y-%m-%d} .. {horizon[-1]:%Y-%m-%d}", column, text, why
        )
    return day


def expand(scenario: pd.DataFrame, stores: list[int]) -> pd.DataFrame:
    """One row per store, family and day the scenario sets (line, store_nbr, family, date, onpromotion)."""
    rows = []
    for row in scenario.itertuples(index=False):
        for store in stores if row.store_nbr is None or pd.isna(row.store_nbr) else [int(row.store_nbr)]:
            for day in pd.date_range(row.start_date, row.end_date, freq="D"):
                rows.append((row.line, store, row.family, day, row.onpromotion))
    return pd.DataFrame(rows, columns=["line", "store_nbr", "family", "date", "onpromotion"])


def apply(
    records: list[dict], series: pd.DataFrame, horizon: pd.DatetimeIndex, changes: pd.DataFrame
) -> tuple[list[dict], np.ndarray]:
    """Inference records with the scenario's promotions over the horizon (their last len(horizon) feature days),
    and the indices of the records it changed. ``series``: the records' store_nbr and family, in order."""
    h = len(horizon)
    index = {
        (int(s), str(f)): i
        for i, (s, f) in enumerate(zip(series["store_nbr"], series["family"].astype(str), strict=True))
    }
    out = list(records)
    touched = set()
    for (store, family), block in changes.groupby(["store_nbr", "family"]):
        i = index[(int(store), str(family))]
        record = dict(out[i])
        feats = np.array(record["dynamic_feat"], dtype=np.float32)  # a copy: the base record stays as it was
        start = feats.shape[1] - h
        for day, promo in zip(block["date"], block["onpromotion"], strict=True):
            feats[PROMO_ROW, start + horizon.get_loc(day)] = np.log1p(promo)
        record["dynamic_feat"] = feats
        out[i] = record
        touched.add(i)
    return out, np.array(sorted(touched), dtype=int)


def lift_frame(
    series: pd.DataFrame,
    horizon: pd.DatetimeIndex,
    rows: np.ndarray,
    changes: pd.DataFrame,
    base: dict,
    scenario: dict,
    models: np.ndarray,
    versions: np.ndarray,
    uses: np.ndarray,
) -> pd.DataFrame:
    """The what-if table, one row per changed series-day: base and scenario mean and P10/P50/P90, and the lift.
    ``base``/``scenario``: {"mean": (r, h), 0.1/0.5/0.9: (r, h)} for the changed ``rows``. The lift's interval is
    scenario quantile minus base quantile: exact when the two forecasts' errors move together (comonotone: the
    same model, history and calendar; only the promotion differs). Where the model does not use promotions
    (``uses`` False) the lift is left empty, not reported as 0."""
    h = len(horizon)
    sub = series.iloc[rows].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "date": np.tile(horizon.values, len(rows)),
            "store_nbr": np.repeat(sub["store_nbr"].to_numpy(), h),
            "family": np.repeat(sub["family"].astype(str).to_numpy(), h),
            "model": np.repeat(models, h),
            "model_version": np.repeat(versions, h),
            "uses_promotions": np.repeat(uses, h),
            **{
                f"base_{k}": np.asarray(base[q], dtype=float).ravel()
                for k, q in (("mean", "mean"), ("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
            },
            **{
                f"scenario_{k}": np.asarray(scenario[q], dtype=float).ravel()
                for k, q in (("mean", "mean"), ("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
            },
        }
    )
    keyed = changes.assign(date=pd.to_datetime(changes["date"]))[["line", "store_nbr", "family", "date", "onpromotion"]]
    frame = frame.merge(keyed.rename(columns={"line": "scenario_row"}), on=["store_nbr", "family", "date"], how="inner")
    low = frame["scenario_p10"] - frame["base_p10"]
    high = frame["scenario_p90"] - frame["base_p90"]
    moved = frame["uses_promotions"].to_numpy()
    frame["lift_mean"] = np.where(moved, frame["scenario_mean"] - frame["base_mean"], np.nan)
    frame["lift_p10"] = np.where(moved, np.minimum(low, high), np.nan)
    frame["lift_p90"] = np.where(moved, np.maximum(low, high), np.nan)
    frame["date"] = pd.DatetimeIndex(frame["date"]).date
    return frame[WHATIF_COLUMNS].sort_values(["scenario_row", "store_nbr", "family", "date"]).reset_index(drop=True)


def summarize(table: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Per scenario row and family: units in the base plan and under the scenario over its days, the lift with its
    interval (sums of the daily quantile differences, valid under the same comonotone errors) and in percent; and,
    where the published model ignores promotions, a note saying so instead of a lift."""
    out = []
    for (line, family), block in table.groupby(["scenario_row", "family"], sort=True):
        uses = bool(block["uses_promotions"].all())
        base, scen = block["base_mean"].sum(), block["scenario_mean"].sum()
        version, model = block["model_version"].iloc[0], block["model"].iloc[0]
        out.append(
            {
                "scenario_row": int(line),
                "family": family,
                "stores": int(block["store_nbr"].nunique()),
                "first_date": str(min(block["date"])),
                "last_date": str(max(block["date"])),
                "onpromotion": float(block["onpromotion"].mean()),
                "model_version": version,
                "base_units": float(base),
                "scenario_units": float(scen) if uses else np.nan,
                "lift_units": float(scen - base) if uses else np.nan,
                "lift_p10": float(block["lift_p10"].sum()) if uses else np.nan,
                "lift_p90": float(block["lift_p90"].sum()) if uses else np.nan,
                "lift_pct": float((scen - base) / base) if uses and base > 0 else np.nan,
                "note": ""
                if uses
                else (
                    f"the model published for {family} ({labels.get(model, model)}) "
                    "does not use promotions: no lift can be read from it"
                ),
            }
        )
    return pd.DataFrame(out)
