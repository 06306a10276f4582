"""Naive forecasts that any model must beat, with quantiles from their own backtest residuals.

Histories are arrays shaped (n_series, n_days) ending on the cut-off; closed days may be NaN.
"""

from __future__ import annotations

import numpy as np

BASELINES = ("last_week", "mean_last_4_weekdays")


def last_week(history: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last 7 days: f(T + h) = y(T + h - 7 * ceil(h / 7)). Closed (NaN) days count as 0."""
    week = np.nan_to_num(history[:, -7:])
    return np.tile(week, (1, int(np.ceil(horizon / 7))))[:, :horizon]


def mean_last_4_weekdays(history: np.ndarray, horizon: int) -> np.ndarray:
    """For each day ahead, the mean of the last 4 observed days that fall on the same weekday (NaN days skipped)."""
    last28 = history[:, -28:].reshape(history.shape[0], 4, 7)  # [series, week, weekday-position]
    seen = np.isfinite(last28)
    # a weekday closed on all 4 weeks (or a series not open yet) has no mean: 0, without numpy's empty-slice warning
    profile = np.where(seen, last28, 0.0).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
    return np.tile(profile, (1, int(np.ceil(horizon / 7))))[:, :horizon]


def forecast(name: str, history: np.ndarray, horizon: int) -> np.ndarray:
    """The named baseline's point forecast, shaped (n_series, horizon)."""
    if name == "last_week":
        return last_week(history, horizon)
    if name == "mean_last_4_weekdays":
        return mean_last_4_weekdays(history, horizon)
    raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")


def residual_quantiles(
    point: np.ndarray, backtest_actual: np.ndarray, backtest_point: np.ndarray, levels: tuple[float, ...]
) -> dict[float, np.ndarray]:
    """Quantile forecasts for a point forecast: point + the series' empirical residual quantile from its backtest.

    Residuals are relative to the backtest level (r = (y - f) / max(mean f, 1)) so a series' spread scales with
    its level, then mapped back onto ``point``; quantiles are clipped at 0 and kept monotone.
    """
    level = np.maximum(backtest_point.mean(axis=1, keepdims=True), 1.0)
    relative = (backtest_actual - backtest_point) / level
    out = {}
    new_level = np.maximum(point.mean(axis=1, keepdims=True), 1.0)
    for q in levels:
        offset = np.quantile(relative, q, axis=1, keepdims=True)
        out[q] = np.clip(point + offset * new_level, 0, None)
    ordered = np.sort(np.stack([out[q] for q in levels]), axis=0)
    return {q: ordered[i] for i, q in enumerate(levels)}
