"""Forecast value added: once the sales of a past cut-off's horizon are known, how the naive baseline, the
statistical forecast and the planners' adjusted forecast did, per family and overall; kept month by month as the
platform's track record. And the bias and drift alerts read from that record.

Pure: pandas and numpy. The scores, with ``y`` the sales and ``f`` a forecast over a month's horizon:

    RMSLE    = sqrt(mean((log1p f - log1p y)^2))      (Kaggle's metric)
    WAPE     = sum |f - y| / sum y
    bias     = sum (f - y) / sum y                      (the signed error share: +0.05 forecasts 5 % too much)
    coverage = share of series-days with P10 <= y <= P90 (the naive baseline has no band: empty)

The naive baseline is the seasonal naive forecast (the last week before the cut-off, repeated), the baseline any
forecast must beat. A family's bias alert compares its cumulative bias over the scored months (all units forecast
against all units sold) with the range its own backtest showed at the newest month's cut-off; its drift alert the
newest month's WAPE with the worst the backtest showed. The backtest's range is that of its windows, widened on each
side by half its width (at least MIN_SPREAD / 2), since a few windows span less than the months to come.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from favorita_assets.core import baselines, metrics

FORECASTS = ("naive", "statistical", "adjusted")
ALL = "ALL"  # the family name of the overall rows
MIN_SPREAD = 0.04  # the backtest's range is at least 4 points of bias or WAPE wide
SCORE_COLUMNS = [
    "month",
    "family",
    "forecast",
    "rmsle",
    "wape",
    "bias",
    "coverage",
    "actual_units",
    "forecast_units",
    "series_days",
    "overridden_series_days",
    "bias_low",
    "bias_high",
    "wape_high",
]


def naive_forecast(history: pd.DataFrame, cutoff: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
    """The seasonal naive forecast (last_week) of every series from its last 7 days up to ``cutoff``: date,
    store_nbr, family, naive. ``history``: date, store_nbr, family, sales."""
    frame = history.assign(date=pd.to_datetime(history["date"]), family=history["family"].astype(str))
    last = frame[(frame["date"] > cutoff - pd.Timedelta(days=7)) & (frame["date"] <= cutoff)]
    wide = last.pivot_table(index=["store_nbr", "family"], columns="date", values="sales", aggfunc="sum")
    wide = wide.reindex(columns=pd.date_range(cutoff - pd.Timedelta(days=6), cutoff, freq="D"))
    point = baselines.last_week(wide.to_numpy(dtype=float), len(horizon))
    pairs = wide.index.to_frame(index=False)
    return pd.DataFrame(
        {
            "date": np.tile(horizon.values, len(pairs)),
            "store_nbr": np.repeat(pairs["store_nbr"].to_numpy(), len(horizon)),
            "family": np.repeat(pairs["family"].to_numpy(), len(horizon)),
            "naive": point.ravel(),
        }
    )


def backtest_ranges(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per family and overall (ALL): the range of bias and the worst WAPE the backtest's windows showed, widened
    (see the module's docstring). ``backtest``: window, family, actual, published_mean. Columns: family, bias_low,
    bias_high, wape_high."""
    frame = backtest.assign(family=backtest["family"].astype(str))
    rows = []
    for family, block in [*frame.groupby("family"), (ALL, frame)]:
        per = block.groupby("window").apply(
            lambda w: pd.Series(
                {
                    "bias": _bias(w["actual"].to_numpy(float), w["published_mean"].to_numpy(float)),
                    "wape": metrics.wape(w["actual"].to_numpy(float), w["published_mean"].to_numpy(float)),
                }
            ),
            include_groups=False,
        )
        low, high = per["bias"].min(), per["bias"].max()
        widen = max(high - low, MIN_SPREAD) / 2
        wape_widen = max(per["wape"].max() - per["wape"].min(), MIN_SPREAD) / 2
        rows.append(
            {
                "family": str(family),
                "bias_low": low - widen,
                "bias_high": high + widen,
                "wape_high": per["wape"].max() + wape_widen,
            }
        )
    return pd.DataFrame(rows)


def _bias(y: np.ndarray, f: np.ndarray) -> float:
    total = y.sum()
    return float((f - y).sum() / total) if total > 0 else float("nan")


def score_month(
    month: str, adjusted: pd.DataFrame, actuals: pd.DataFrame, naive: pd.DataFrame, ranges: pd.DataFrame
) -> pd.DataFrame:
    """The scores of one past cut-off (SCORE_COLUMNS): per family and overall (ALL), for the naive, statistical
    and adjusted forecasts. ``adjusted``: the adjusted forecasts (statistical_* beside mean/p10/p90,
    override_line); ``actuals``: date, store_nbr, family, sales over the horizon; ``naive``: naive_forecast's
    table; ``ranges``: backtest_ranges of that cut-off's backtest."""
    on = ["date", "store_nbr", "family"]

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(date=pd.to_datetime(frame["date"]), family=frame["family"].astype(str))

    table = keyed(adjusted).merge(keyed(actuals)[[*on, "sales"]], on=on).merge(keyed(naive), on=on, how="left")
    table["naive"] = table["naive"].fillna(0.0)
    columns = {
        "naive": ("naive", None, None),
        "statistical": ("statistical_mean", "statistical_p10", "statistical_p90"),
        "adjusted": ("mean", "p10", "p90"),
    }
    limits = ranges.set_index("family")
    rows = []
    for family, block in [*table.groupby("family"), (ALL, table)]:
        y = block["sales"].to_numpy(float)
        for name in FORECASTS:
            mean, low, high = columns[name]
            f = block[mean].to_numpy(float)
            inside = (
                float(((block[low] <= block["sales"]) & (block["sales"] <= block[high])).mean())
                if low
                else float("nan")
            )
            bounds = limits.loc[family] if family in limits.index else None
            rows.append(
                {
                    "month": month,
                    "family": str(family),
                    "forecast": name,
                    "rmsle": metrics.rmsle(y, f),
                    "wape": metrics.wape(y, f),
                    "bias": _bias(y, f),
                    "coverage": inside,
                    "actual_units": float(y.sum()),
                    "forecast_units": float(f.sum()),
                    "series_days": len(block),
                    "overridden_series_days": int((block["override_line"] > 0).sum()),
                    "bias_low": float("nan") if bounds is None else float(bounds["bias_low"]),
                    "bias_high": float("nan") if bounds is None else float(bounds["bias_high"]),
                    "wape_high": float("nan") if bounds is None else float(bounds["wape_high"]),
                }
            )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def out_of_range(record: pd.DataFrame) -> list[dict]:
    """The statistical forecast's families (and ALL) whose cumulative bias, or whose newest month's WAPE, left the
    range their own backtest showed at the newest month: kind (bias or accuracy), family, value, the range, by how
    much (value minus the nearest bound) and since which month (the first of the newest run of months out of
    range). ``record``: every month's scores (SCORE_COLUMNS)."""
    stat = record[record["forecast"] == "statistical"].sort_values("month")
    found = []
    for family, block in stat.groupby("family", sort=True):
        block = block.reset_index(drop=True)
        units = block["actual_units"].cumsum()
        cumulative = ((block["forecast_units"] - block["actual_units"]).cumsum() / units.where(units > 0)).to_numpy()
        bias_out = (cumulative < block["bias_low"]) | (cumulative > block["bias_high"])
        wape_out = block["wape"] > block["wape_high"]
        for kind, out, value, low, high in (
            ("bias", bias_out.to_numpy(), cumulative, block["bias_low"], block["bias_high"]),
            ("accuracy", wape_out.to_numpy(), block["wape"].to_numpy(), None, block["wape_high"]),
        ):
            if not out[-1]:
                continue
            start = len(out) - 1
            while start > 0 and out[start - 1]:
                start -= 1
            v, hi = float(value[-1]), float(high.iloc[-1])
            lo = None if low is None else float(low.iloc[-1])
            by = v - hi if lo is None or v > hi else v - lo
            found.append(
                {
                    "kind": kind,
                    "family": str(family),
                    "value": v,
                    "low": lo,
                    "high": hi,
                    "by": by,
                    "since": str(block["month"].iloc[start]),
                    "month": str(block["month"].iloc[-1]),
                }
            )
    return found


def alert_text(alert: dict) -> str:
    """One alert in words: which family, by how much, since when."""
    who = "all families" if alert["family"] == ALL else alert["family"]
    if alert["kind"] == "bias":
        side = "above" if alert["by"] > 0 else "below"
        return (
            f"{who}: cumulative bias {alert['value']:+.1%}, {abs(alert['by']):.1%} {side} the backtest's range "
            f"{alert['low']:+.1%} .. {alert['high']:+.1%}, since the {alert['since']} cut-off"
        )
    return (
        f"{who}: WAPE {alert['value']:.1%} on the {alert['month']} cut-off, {alert['by']:.1%} worse than the "
        f"backtest's worst {alert['high']:.1%}, since the {alert['since']} cut-off"
    )


def to_send(current: list[dict], sent: dict[str, str]) -> tuple[list[dict], dict[str, str]]:
    """The alerts not sent yet (each family, kind and start is sent once), and the new record of those sent: the
    alerts still out of range; one back in range is forgotten, so leaving the range again alerts again."""
    new = [a for a in current if sent.get(f"{a['family']}/{a['kind']}") != a["since"]]
    return new, {f"{a['family']}/{a['kind']}": a["since"] for a in current}


def last_months_table(record: pd.DataFrame, months: int = 6) -> pd.DataFrame:
    """The overall scores of the last ``months`` scored months: one row per month, the three forecasts side by
    side (rmsle_naive, rmsle_statistical, ..., coverage_adjusted), and the value the overrides added in WAPE
    points (statistical WAPE minus adjusted WAPE: positive when the overrides helped)."""
    overall = record[record["family"] == ALL]
    if overall.empty:
        return pd.DataFrame()
    wide = overall.pivot_table(
        index="month", columns="forecast", values=["rmsle", "wape", "bias", "coverage"], dropna=False
    )
    wide.columns = [f"{metric}_{forecast}" for metric, forecast in wide.columns]
    wide["overridden_series_days"] = overall[overall["forecast"] == "adjusted"].set_index("month")[
        "overridden_series_days"
    ]
    wide["value_added_wape"] = wide["wape_statistical"] - wide["wape_adjusted"]
    return wide.sort_index().tail(months).reset_index()


def markdown(table: pd.DataFrame) -> str:
    """last_months_table as Markdown."""
    if table.empty:
        return "No past cut-off has its horizon's sales yet: the first row comes with the next refresh."
    lines = [
        "| cut-off | RMSLE naive | RMSLE statistical | RMSLE adjusted | WAPE statistical | WAPE adjusted | "
        "bias statistical | bias adjusted | P10-P90 statistical | overridden days | value added (WAPE pts) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.month} | {r.rmsle_naive:.3f} | {r.rmsle_statistical:.3f} | {r.rmsle_adjusted:.3f} | "
            f"{r.wape_statistical:.1%} | {r.wape_adjusted:.1%} | {r.bias_statistical:+.1%} | "
            f"{r.bias_adjusted:+.1%} | {r.coverage_statistical:.0%} | {int(r.overridden_series_days)} | "
            f"{100 * r.value_added_wape:+.2f} |"
        )
    return "\n".join(lines)
