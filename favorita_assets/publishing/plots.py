"""The four PNG plots of forecast_plots, from what the asset reads: the all-stores total and the largest series with
the published forecast and its band (and, for a past cut-off, the sales that followed), the backtest overlay and
every candidate's RMSLE per window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from favorita_assets.core import plotting
from favorita_assets.core.candidates import labels_of
from favorita_assets.core.report import models_in_words


def history_since(manifest: dict, backtest: pd.DataFrame) -> pd.Timestamp:
    """The first day of history the plots show: 70 days before the cut-off, or 42 before the first backtest day."""
    cutoff = pd.Timestamp(manifest["cutoff"])
    first_backtest_day = pd.to_datetime(backtest["date"]).min()
    return min(cutoff - pd.Timedelta(days=70), first_backtest_day - pd.Timedelta(days=42))


def plot_pngs(
    manifest: dict,
    summary: dict,
    fc: pd.DataFrame,
    totals: pd.DataFrame,
    backtest: pd.DataFrame,
    cleaned: pd.DataFrame,
) -> tuple[bytes, bytes, bytes, bytes]:
    """The total, the largest series, the backtest overlay and the RMSLE per window, as PNG bytes (in the order of
    storage_keys.PLOT_FILES). ``fc`` and ``totals``: the published forecasts and totals; ``backtest``: the backtest
    table; ``cleaned``: the cleaned series' date, store_nbr, family and sales from :func:`history_since` on."""
    labels = labels_of(summary)  # the trained model's label names its backend
    cutoff = pd.Timestamp(manifest["cutoff"])
    fc = fc.assign(date=lambda f: pd.to_datetime(f["date"]))
    totals = totals.assign(date=lambda f: pd.to_datetime(f["date"]))
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
    mix = models_in_words(champions, labels)
    whole = plotting.Panel(
        "All stores, all families",
        past.index,
        past.to_numpy(),
        horizon,
        whole_total["p50"].to_numpy(),
        whole_total["p10"].to_numpy(),
        whole_total["p90"].to_numpy(),
        "published forecast, P50 (each family's champion)",
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
            sub["p50"].to_numpy(),
            sub["p10"].to_numpy(),
            sub["p90"].to_numpy(),
            "published forecast, P50",
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
    return total, top_series, backtest_png, windows_png
