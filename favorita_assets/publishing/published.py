"""The published forecasts, from the backtest's choices: each family's champion (DeepAR, a challenger or the
ensemble) with its calibrated band, stopped series at 0, known closures closed, and the coherent totals; and what the
forecasts asset shows about them. No Dagster here."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from favorita_assets.core import hierarchy
from favorita_assets.core.candidates import DEEPAR, ENSEMBLE, blend, stopped_selling
from favorita_assets.core.evaluation import QUANTILES, closed_ahead, forecast_frame, history_matrix, publish


def publish_forecasts(
    manifest: dict,
    summary: dict,
    inference: list[dict],
    predict_deepar: Callable[[], list[dict]],
    read_horizon: Callable[[], pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The forecasts table, the totals table, and the (series, day) mask of days known to be closed.
    ``predict_deepar``: DeepAR's predictions on the inference records (called only when a family publishes DeepAR
    or the ensemble holds it); ``read_horizon``: the challengers' horizon forecasts the backtest stored."""
    h, champions = manifest["prediction_length"], summary["champions"]
    horizon = pd.DatetimeIndex(manifest["horizon"])
    series = pd.DataFrame(manifest["series"])
    families = series["family"].astype(str).to_numpy()
    closed = closed_ahead(inference, h)
    n = len(series)
    base = {}  # candidate -> base quantiles (n, h)
    members = summary.get("ensemble_members", []) if ENSEMBLE in champions.values() else []
    if DEEPAR in champions.values() or DEEPAR in members:
        predictions = predict_deepar()
        base[DEEPAR] = {
            "mean": np.vstack([p["mean"] for p in predictions]),
            **{q: np.vstack([p[q] for p in predictions]) for q in QUANTILES},
        }
    candidates = read_horizon()
    for name in (set(champions.values()) | set(members)) - {DEEPAR, ENSEMBLE}:
        base[name] = {"mean": candidates[f"{name}_mean"].to_numpy().reshape(n, h)}
    if members:
        base[ENSEMBLE] = {"mean": blend([base[m]["mean"] for m in members])}
    stopped = stopped_selling(history_matrix(inference, max(len(r["target"]) for r in inference)), h)
    mean, quantiles, versions = publish(
        base, champions, summary["offsets"], summary["versions"], families, closed, stopped
    )
    mean = corrected(mean, families, summary.get("mean_correction") or {})
    frame = forecast_frame(series, horizon, mean, quantiles, versions, closed)
    totals = hierarchy.totals_frame(
        horizon,
        mean,
        series["store_nbr"].to_numpy(),
        families,
        {level: t["offsets"] for level, t in summary["totals"].items()},
    )
    return frame, totals, closed


def corrected(mean: np.ndarray, families: np.ndarray, factors: dict[str, float]) -> np.ndarray:
    """The (n, h) means scaled by their family's correction factor (none given: unchanged)."""
    if not factors:
        return mean
    scale = np.array([factors.get(str(f), 1.0) for f in families])
    return mean * scale[:, None]


def forecasts_metadata(
    frame: pd.DataFrame, totals: pd.DataFrame, closed: np.ndarray, summary: dict, manifest: dict
) -> tuple[dict[str, object], str]:
    """What the forecasts' materialization shows: the plain values (rows, the model versions and how many series
    each publishes, the horizon, the units forecast, the closed days), and the daily totals as a Markdown table."""
    horizon = pd.DatetimeIndex(manifest["horizon"])
    daily = totals[totals["level"] == "total"]
    published_by = frame.drop_duplicates(["store_nbr", "family"])["model_version"].value_counts()
    plain = {
        "rows": len(frame),
        "model_version": ", ".join(f"{v} ({c} series)" for v, c in published_by.items()),
        "champion": summary["champion"],
        "horizon": f"{horizon[0]:%Y-%m-%d} .. {horizon[-1]:%Y-%m-%d}",
        "total_units_forecast": round(float(frame["mean"].sum()), 1),
        "known_closed_series_days": int(closed.sum()),
    }
    table = "| date | all stores, mean | P10 | P90 |\n|---|---|---|---|\n" + "\n".join(
        f"| {r.date} | {r.mean:,.0f} | {r.p10:,.0f} | {r.p90:,.0f} |" for r in daily.itertuples()
    )
    return plain, table
