"""Forecast accuracy metrics, pure numpy. ``y`` are actuals and ``f`` forecasts, flattened over all series and days
unless a function says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def rmsle(y: np.ndarray, f: np.ndarray) -> float:
    """Root mean squared logarithmic error, Kaggle's pooled formula for this competition:

        RMSLE = sqrt( 1/n * sum_i (log(1 + f_i) - log(1 + y_i))^2 )

    Negative forecasts are clipped to 0 first (Kaggle refuses them).
    """
    y, f = np.asarray(y, dtype=float), np.clip(np.asarray(f, dtype=float), 0, None)
    return float(np.sqrt(np.mean((np.log1p(f) - np.log1p(y)) ** 2)))


def wape(y: np.ndarray, f: np.ndarray) -> float:
    """Weighted absolute percentage error: sum_i |y_i - f_i| / sum_i |y_i| (NaN when all actuals are 0)."""
    y, f = np.asarray(y, dtype=float), np.asarray(f, dtype=float)
    denominator = np.abs(y).sum()
    return float(np.abs(y - f).sum() / denominator) if denominator > 0 else float("nan")


def seasonal_scale(history: np.ndarray, season: int = 7) -> np.ndarray:
    """(n_series,): each row's in-sample error of the seasonal naive forecast, mean_t |h_t - h_(t-season)|, over
    calendar pairs: a pair with a closed (NaN) day is skipped, never shifted to another weekday. NaN when a row has
    no pair."""
    h = np.asarray(history, dtype=float)
    if h.shape[1] <= season:
        return np.full(h.shape[0], np.nan)
    diff = np.abs(h[:, season:] - h[:, :-season])
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(diff).sum(axis=1)
        return np.where(counts > 0, np.nansum(diff, axis=1) / np.maximum(counts, 1), np.nan)


def mase_scaled(y: np.ndarray, f: np.ndarray, scales: np.ndarray) -> float:
    """MASE from precomputed denominators (``seasonal_scale``): mean over series of mean_t |y_st - f_st| / scale_s;
    series whose scale is 0 or NaN (never changing, e.g. always zero) are left out."""
    y, f, scales = np.asarray(y, dtype=float), np.asarray(f, dtype=float), np.asarray(scales, dtype=float)
    keep = np.isfinite(scales) & (scales > 0)
    if not keep.any():
        return float("nan")
    return float(np.mean(np.mean(np.abs(y[keep] - f[keep]), axis=1) / scales[keep]))


def mase(y: np.ndarray, f: np.ndarray, history: list[np.ndarray], season: int = 7) -> float:
    """Mean absolute scaled error, averaged over series (``y`` and ``f`` shaped (n_series, horizon)).

    For series s: MASE_s = mean_t |y_st - f_st| / mean_t |h_st - h_s(t-season)|, the denominator being the in-sample
    error of the seasonal naive forecast on that series' history ``history[s]``, over calendar pairs (a pair with a
    closed day, NaN, is skipped). Series whose denominator is 0 (never changing, e.g. always zero) are left out.
    """
    width = max((len(h) for h in history), default=0)
    padded = np.full((len(history), width), np.nan)
    for s, h in enumerate(history):
        padded[s, width - len(h) :] = np.asarray(h, dtype=float)
    return mase_scaled(y, f, seasonal_scale(padded, season))


def quantile_loss(y: np.ndarray, q_forecast: np.ndarray, q: float) -> float:
    """Pinball loss summed over points: sum_i 2 * max(q * (y_i - f_i), (q - 1) * (y_i - f_i))."""
    y, f = np.asarray(y, dtype=float), np.asarray(q_forecast, dtype=float)
    diff = y - f
    return float(np.sum(2 * np.maximum(q * diff, (q - 1) * diff)))


def mean_weighted_quantile_loss(y: np.ndarray, quantiles: Mapping[float, np.ndarray]) -> float:
    """Mean over the quantile levels of wQL_q = quantile_loss(y, f_q, q) / sum_i |y_i|
    (GluonTS's mean_wQuantileLoss)."""
    denominator = np.abs(np.asarray(y, dtype=float)).sum()
    if denominator == 0:
        return float("nan")
    return float(np.mean([quantile_loss(y, f, q) / denominator for q, f in quantiles.items()]))


def score(
    y: np.ndarray, mean: np.ndarray, quantiles: Mapping[float, np.ndarray], history: list[np.ndarray]
) -> dict[str, float]:
    """All four metrics for forecasts shaped (n_series, horizon); ``quantiles`` must be out of sample."""
    return {
        "rmsle": rmsle(y.ravel(), mean.ravel()),
        "wape": wape(y.ravel(), mean.ravel()),
        "mase": mase(y, mean, history),
        "mean_wql": mean_weighted_quantile_loss(y.ravel(), {q: f.ravel() for q, f in quantiles.items()}),
    }
