"""P10/P50/P90 bands calibrated on out-of-sample errors (split conformal, in log1p space).

Every candidate's band for a day is its base quantile (the model's own quantile where it has a distribution, else
its point forecast) shifted in log1p space by an offset learned from the backtest windows it was *not* scored on:

    lower offset a = Q_0.9( log1p(p10) - log1p(y) )  ->  p10' = expm1(log1p(p10) - a)   so P(y < p10') ~ 0.1
    upper offset b = Q_0.9( log1p(y) - log1p(p90) )  ->  p90' = expm1(log1p(p90) + b)   so P(y > p90') ~ 0.1
    median offset m = Q_0.5( log1p(y) - log1p(p50) ) ->  p50' = expm1(log1p(p50) + m)

(conformalized quantile regression, Romano et al. 2019, per quantile side). The offsets are pooled per group (a
family across its stores, or one aggregate series), with the finite-sample level ceil((n + 1) q) / n. A window's
band is calibrated on the other windows (cross-conformal), so no window's errors shape its own band; the published
band uses every window. Log space makes one offset fit a group whose stores sell at different levels.

Pure numpy: no Dagster, no AWS.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

LOW, MID, HIGH = 0.1, 0.5, 0.9


def _level(n: int, q: float) -> float:
    return min(1.0, np.ceil((n + 1) * q) / n) if n else q


def offsets(actual: np.ndarray, base: Mapping[float, np.ndarray], mask: np.ndarray | None = None) -> dict[str, float]:
    """The three offsets (``low``, ``mid``, ``high``) from flat arrays of actuals and base quantiles; ``mask`` keeps
    the points to learn from (e.g. not a known closed day). No points: zero offsets."""
    y = np.log1p(np.clip(np.asarray(actual, dtype=float), 0, None))
    lo, mid, hi = (np.log1p(np.clip(np.asarray(base[q], dtype=float), 0, None)) for q in (LOW, MID, HIGH))
    keep = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi) & np.isfinite(mid)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    n = int(keep.sum())
    if n == 0:
        return {"low": 0.0, "mid": 0.0, "high": 0.0, "n": 0}
    return {
        "low": float(np.quantile((lo - y)[keep], _level(n, 1 - LOW))),
        "mid": float(np.quantile((y - mid)[keep], MID)),
        "high": float(np.quantile((y - hi)[keep], _level(n, HIGH))),
        "n": n,
    }


def apply(base: Mapping[float, np.ndarray], offset: Mapping[str, float]) -> dict[float, np.ndarray]:
    """The calibrated P10/P50/P90 from base quantiles and a group's offsets; non-negative and ordered."""
    lo = np.expm1(np.log1p(np.clip(base[LOW], 0, None)) - offset["low"])
    mid = np.expm1(np.log1p(np.clip(base[MID], 0, None)) + offset["mid"])
    hi = np.expm1(np.log1p(np.clip(base[HIGH], 0, None)) + offset["high"])
    ordered = np.sort(np.clip(np.stack([lo, mid, hi]), 0, None), axis=0)
    return {LOW: ordered[0], MID: ordered[1], HIGH: ordered[2]}


def base_quantiles(forecast: Mapping) -> dict[float, np.ndarray]:
    """A forecast's own P10/P50/P90 where it has them (DeepAR), else its point forecast for all three."""
    mean = np.asarray(forecast["mean"], dtype=float)
    return {q: np.asarray(forecast.get(q, mean), dtype=float) for q in (LOW, MID, HIGH)}


def coverage(actual: np.ndarray, p10: np.ndarray, p90: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of points with p10 <= y <= p90 (NaN when no point is kept)."""
    y = np.asarray(actual, dtype=float)
    inside = (y >= np.asarray(p10) - 1e-9) & (y <= np.asarray(p90) + 1e-9)
    keep = np.isfinite(y) if mask is None else np.isfinite(y) & np.asarray(mask, dtype=bool)
    return float(inside[keep].mean()) if keep.any() else float("nan")
