"""forecast_plots' four PNGs from small tables (favorita_assets/publishing/plots.py)."""

import numpy as np
import pandas as pd

from favorita_assets.publishing import plots

CUTOFF = pd.Timestamp("2017-03-31")
H = 7
SERIES = [(1, "A"), (1, "B"), (2, "A"), (2, "B"), (3, "A")]
WINDOWS = [["2017-03-18", "2017-03-24"], ["2017-03-25", "2017-03-31"]]
PNG = b"\x89PNG\r\n\x1a\n"


def tables(past_cutoff: bool):
    horizon = pd.date_range(CUTOFF + pd.Timedelta(days=1), periods=H)
    history = pd.date_range("2016-12-01", CUTOFF + pd.Timedelta(days=H if past_cutoff else 0))
    cleaned = pd.DataFrame(
        [(d, s, f, 10.0 * s + i % 7) for s, f in SERIES for i, d in enumerate(history)],
        columns=["date", "store_nbr", "family", "sales"],
    ).assign(family=lambda t: t["family"].astype("category"))
    fc = pd.DataFrame(
        [(f"{d:%Y-%m-%d}", s, f, False, 12.0, 9.0, 11.0, 15.0) for s, f in SERIES for d in horizon],
        columns=["date", "store_nbr", "family", "store_closed", "mean", "p10", "p50", "p90"],
    )
    totals = pd.DataFrame({"level": "total", "date": horizon, "mean": 60.0, "p10": 50.0, "p50": 58.0, "p90": 70.0})
    days = pd.date_range(WINDOWS[0][0], WINDOWS[1][1])
    backtest = pd.DataFrame(
        [(d, s, f, 11.0, 12.0, 9.0, 15.0, 10.0) for s, f in SERIES for d in days],
        columns=["date", "store_nbr", "family", "actual", "published_mean", "published_p10", "published_p90"]
        + ["last_week_mean"],
    )
    scores = {"rmsle": 0.2, "coverage": 0.8}
    summary = {
        "champions": {"A": "deepar", "B": "last_week"},
        "best_baseline": "last_week",
        "champion": "deepar (1 families), last_week (1 families)",
        "windows": WINDOWS,
        "scores": {"last_week": scores},
        "published": {"overall": scores, "windows": [scores, scores]},
        "candidates": {
            "deepar": {"label": "DeepAR (SageMaker)", "windows": [scores, scores]},
            "last_week": {"windows": [scores, scores]},
        },
    }
    manifest = {"cutoff": f"{CUTOFF:%Y-%m-%d}", "horizon": [f"{d:%Y-%m-%d}" for d in horizon]}
    return manifest, summary, fc, totals, backtest, cleaned


def test_four_pngs_for_a_past_cutoff_with_the_sales_that_followed():
    manifest, summary, fc, totals, backtest, cleaned = tables(past_cutoff=True)
    since = plots.history_since(manifest, backtest)
    assert since == min(CUTOFF - pd.Timedelta(days=70), pd.Timestamp(WINDOWS[0][0]) - pd.Timedelta(days=42))
    pngs = plots.plot_pngs(manifest, summary, fc, totals, backtest, cleaned[cleaned["date"] >= since])
    assert len(pngs) == 4 and all(png.startswith(PNG) and len(png) > 5_000 for png in pngs)


def test_the_plots_follow_the_data():
    manifest, summary, fc, totals, backtest, cleaned = tables(past_cutoff=False)
    first = plots.plot_pngs(manifest, summary, fc, totals, backtest, cleaned)
    moved = plots.plot_pngs(manifest, summary, fc.assign(p50=np.float64(40.0)), totals, backtest, cleaned)
    assert moved[1] != first[1] and moved[2:] == first[2:]  # the series' forecast moved; the backtest did not
    # The line drawn is the P50 (the median, inside its band), not the mean.
    assert plots.plot_pngs(manifest, summary, fc.assign(mean=np.float64(40.0)), totals, backtest, cleaned) == first
