"""Planners' overrides: "store S (or every store) will sell family F (or every family) at m times the forecast, or
q units a day, or nothing, from day A to day B, because ...", kept beside the statistical forecast, never in it.

Pure: pandas and numpy only. An override set is a CSV (or Parquet) file with one row per rule: ``store_nbr`` (a
store number, or empty / ``all`` for every store), ``family`` (a family, or empty / ``all`` for every family),
``start`` and ``end`` (both inclusive, inside the forecast horizon), exactly one of ``multiplier`` (times the
statistical forecast, above 0), ``quantity`` (units per store, family and day, 0 or more) or ``closed`` (``true``:
nothing sells), then ``reason`` and ``planner`` (both required: every change says why and who).

The adjusted forecast moves the whole band with the mean, so the band keeps its relative width: a multiplier scales
mean, P10, P50 and P90 alike; a quantity scales them by quantity / statistical mean (a series forecast at 0 gets the
quantity as a point); closed sets them to 0. Totals are summed again from the adjusted series (hierarchy.py), so
they add up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core import hierarchy
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.scenarios import ALL_STORES, horizon_day, read_planner_file, store_of

OVERRIDE_COLUMNS = ("store_nbr", "family", "start", "end", "multiplier", "quantity", "closed", "reason", "planner")
KINDS = ("multiplier", "quantity", "closed")
EXAMPLE = "ops_jobs/examples/overrides.csv"
BAND = ("mean", "p10", "p50", "p90")
# What adjusted_forecasts adds to the forecasts' columns: the statistical values beside the adjusted ones, and the
# rule that applied (its line in the override file, 0 for none, and what it did).
ADJUSTED_EXTRA = [f"statistical_{c}" for c in BAND] + ["override_line", "override"]
YES = ("true", "yes", "1", "x")


def read_overrides(path: str | Path, stores: set[int], families: set[str], horizon: pd.DatetimeIndex) -> pd.DataFrame:
    """The override set, validated against the forecasts it adjusts: known stores and families, dates inside the
    horizon, start <= end, exactly one of multiplier / quantity / closed with a usable value, a reason and a planner,
    and no store, family and day under two rules. One row per rule: line (the file's line), store_nbr and family
    (None: every one), start, end, kind, value, reason, planner."""
    frame = read_planner_file(path, OVERRIDE_COLUMNS, "override", EXAMPLE)
    name = Path(path).name
    out = []
    for i, row in frame.iterrows():
        line = i + 2

        def refuse(problem, column, value, fix, line=line):
            raise FavoritaDataError(name, problem, column=column, value=value, rows=[line], fix=fix)

        store = store_of(row["store_nbr"], stores, refuse)
        family: str | None = row["family"]
        if row["family"] == "" or row["family"].lower() == ALL_STORES:
            family = None
        elif family not in families:
            refuse(
                "unknown family: the forecasts hold no such family",
                "family",
                family,
                "use a family name of train.csv, such as BEVERAGES, or leave it empty for every family",
            )
        why = "an override can only change days the forecast covers; pick dates in the horizon"
        start = horizon_day(row["start"], "start", horizon, refuse, why)
        end = horizon_day(row["end"], "end", horizon, refuse, why)
        if start > end:
            refuse("start is after end", "start, end", f"{row['start']}, {row['end']}", "write the earlier date first")
        given = [k for k in KINDS if row[k] != ""]
        if len(given) != 1:
            refuse(
                "a rule must set exactly one of multiplier, quantity or closed",
                "multiplier, quantity, closed",
                ", ".join(row[k] for k in KINDS),
                "fill one of the three and leave the other two empty",
            )
        kind = given[0]
        value = _value(kind, row[kind], refuse)
        for column in ("reason", "planner"):
            if row[column] == "":
                refuse(f"the {column} is empty", column, "", "every override says why (reason) and who (planner)")
        out.append(
            {
                "line": line,
                "store_nbr": store,
                "family": family,
                "start": start,
                "end": end,
                "kind": kind,
                "value": value,
                "reason": row["reason"],
                "planner": row["planner"],
            }
        )
    rules = pd.DataFrame(out)
    changes = expand(rules, sorted(stores), sorted(families))
    twice = changes.duplicated(["store_nbr", "family", "date"], keep=False)
    if twice.any():
        clash = changes[twice].iloc[0]
        same = twice & (
            (changes["store_nbr"] == clash["store_nbr"])
            & (changes["family"] == clash["family"])
            & (changes["date"] == clash["date"])
        )
        raise FavoritaDataError(
            name,
            "two rules overlap: they adjust the same store, family and day",
            column="store_nbr, family, start, end",
            value=f"{clash['store_nbr']}, {clash['family']}, {clash['date']:%Y-%m-%d}",
            rows=sorted(changes.loc[same, "line"]),
            fix="narrow the rules so that each store, family and day has at most one",
        )
    return rules


def _value(kind: str, text: str, refuse) -> float:
    if kind == "closed":
        if text.lower() not in YES:
            refuse(
                "closed is neither empty nor true",
                "closed",
                text,
                "write true when nothing sells, or leave closed empty and give a multiplier or quantity",
            )
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if kind == "multiplier" and not (np.isfinite(value) and value > 0):
        refuse(
            "a multiplier must be a number above 0",
            "multiplier",
            text,
            "write a factor such as 1.2 (20 % more); to say nothing sells, use closed",
        )
    if kind == "quantity" and not (np.isfinite(value) and value >= 0):
        refuse("a quantity must be a number, 0 or more", "quantity", text, "write the units per store and day, as 40")
    return value


def expand(rules: pd.DataFrame, stores: list[int], families: list[str]) -> pd.DataFrame:
    """One row per store, family and day a rule adjusts: line, store_nbr, family, date, kind, value."""
    rows = []
    for rule in rules.itertuples(index=False):
        for store in stores if rule.store_nbr is None or pd.isna(rule.store_nbr) else [int(rule.store_nbr)]:
            for family in families if rule.family is None else [rule.family]:
                for day in pd.date_range(rule.start, rule.end, freq="D"):
                    rows.append((rule.line, store, family, day, rule.kind, rule.value))
    return pd.DataFrame(rows, columns=["line", "store_nbr", "family", "date", "kind", "value"])


def describe(kind: str, value: float) -> str:
    """A rule's effect in words, as the adjusted table shows it."""
    return {"multiplier": f"x{value:g}", "quantity": f"{value:g} units a day", "closed": "closed"}[kind]


def adjust(forecasts: pd.DataFrame, rules: pd.DataFrame | None) -> pd.DataFrame:
    """The adjusted forecasts: the forecasts' own columns with the rules applied, the statistical mean and band
    beside them, and the rule of each row (override_line, 0 and override "" where none applied). No rules: the
    statistical values as they are."""
    frame = forecasts.reset_index(drop=True).copy()
    for c in BAND:
        frame[f"statistical_{c}"] = frame[c].astype(float)
    frame["override_line"] = np.zeros(len(frame), dtype=np.int64)
    frame["override"] = ""
    if rules is None or rules.empty:
        return frame
    stores = sorted(frame["store_nbr"].astype(int).unique())
    families = sorted(frame["family"].astype(str).unique())
    changes = expand(rules, stores, families)
    key = pd.MultiIndex.from_arrays(
        [frame["store_nbr"].astype(int), frame["family"].astype(str), pd.to_datetime(frame["date"])]
    )
    at = pd.MultiIndex.from_arrays([changes["store_nbr"], changes["family"], changes["date"]])
    index = key.get_indexer(at)
    index, changes = index[index >= 0], changes[index >= 0]  # a rule over every store skips pairs not forecast
    kind, value = changes["kind"].to_numpy(), changes["value"].to_numpy(dtype=float)
    mean = frame.loc[index, "mean"].to_numpy(dtype=float)
    factor = np.where(kind == "multiplier", value, 0.0)  # closed: 0; a quantity: set just below
    scaled = (kind == "quantity") & (mean > 0)
    factor[scaled] = value[scaled] / mean[scaled]
    point = (kind == "quantity") & ~scaled  # forecast at 0: the band has no width to keep
    for c in BAND:
        current = frame.loc[index, c].to_numpy(dtype=float)
        frame.loc[index, c] = np.where(point, value, current * factor)
    frame.loc[index[kind == "closed"], "store_closed"] = True
    frame.loc[index, "override_line"] = changes["line"].to_numpy(dtype=np.int64)
    frame.loc[index, "override"] = [describe(k, v) for k, v in zip(kind, value, strict=True)]
    return frame


def adjusted_totals(adjusted: pd.DataFrame, offsets: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """The totals of the adjusted series, as the published totals are made (bottom-up means, so they add up; each
    total's band from its own backtest offsets): the same function on the adjusted means."""
    frame = adjusted.assign(family=adjusted["family"].astype(str), date=pd.to_datetime(adjusted["date"]))
    wide = frame.pivot_table(index=["store_nbr", "family"], columns="date", values="mean", aggfunc="sum")
    pairs = wide.index.to_frame(index=False)
    return hierarchy.totals_frame(
        pd.DatetimeIndex(wide.columns),
        wide.to_numpy(dtype=float),
        pairs["store_nbr"].to_numpy(),
        pairs["family"].to_numpy(),
        offsets,
    )


def units_changed(adjusted: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Per rule: the series-days it adjusted, and the statistical and adjusted units over them."""
    hit = adjusted[adjusted["override_line"] > 0]
    units = hit.groupby("override_line").agg(
        series_days=("mean", "size"), statistical_units=("statistical_mean", "sum"), adjusted_units=("mean", "sum")
    )
    table = rules.set_index("line").join(units, how="left").reset_index()
    table[["statistical_units", "adjusted_units"]] = table[["statistical_units", "adjusted_units"]].fillna(0.0)
    table["series_days"] = table["series_days"].fillna(0).astype(int)
    table["units_changed"] = table["adjusted_units"] - table["statistical_units"]
    return table


def audit_entry(
    rules: pd.DataFrame, changed: pd.DataFrame, *, sha256: str, file: str, key: str, month: str, landed_at: str
) -> dict:
    """The audit record of one override set landed: who, when, why, and what it changed, rule by rule."""
    return {
        "month": month,
        "landed_at": landed_at,
        "sha256": sha256,
        "file": file,
        "key": key,
        "planners": sorted(set(rules["planner"])),
        "rules": [
            {
                "line": int(r.line),
                "store_nbr": "all" if r.store_nbr is None or pd.isna(r.store_nbr) else int(r.store_nbr),
                "family": r.family or "all",
                "start": f"{r.start:%Y-%m-%d}",
                "end": f"{r.end:%Y-%m-%d}",
                "rule": describe(r.kind, r.value),
                "reason": r.reason,
                "planner": r.planner,
                "series_days": int(r.series_days),
                "statistical_units": round(float(r.statistical_units), 2),
                "adjusted_units": round(float(r.adjusted_units), 2),
                "units_changed": round(float(r.units_changed), 2),
            }
            for r in changed.itertuples(index=False)
        ],
        "units_changed": round(float(changed["units_changed"].sum()), 2),
    }


def audit_table(entries: list[dict]) -> str:
    """Every override set landed, oldest first, rule by rule, as a Markdown table."""
    if not entries:
        return "No override set has been landed for this cut-off."
    lines = [
        "| landed at (UTC) | set | planner | store | family | days | rule | reason | units changed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in entries:
        for r in entry["rules"]:
            lines.append(
                f"| {entry['landed_at']} | {entry['sha256'][:12]} | {r['planner']} | {r['store_nbr']} | "
                f"{r['family']} | {r['start']} .. {r['end']} | {r['rule']} | {r['reason']} | "
                f"{r['units_changed']:+,.0f} |"
            )
    return "\n".join(lines)
