"""The backtest: DeepAR and the baselines scored on the same held-out window, and the champion rule.

Everything works on the test channel's records (targets up to the cut-off C): the window is its last H days, the
baselines see the targets up to C - H, exactly what the DeepAR model was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from favorita_assets.core import baselines, metrics
from favorita_assets.core.deepar_format import CLOSED_ROW, target_array

QUANTILES = (0.1, 0.5, 0.9)
DEEPAR = "deepar"


def history_matrix(records: list[dict], days: int, cut: int = 0) -> np.ndarray:
    """The last ``days`` values of each record's target (after dropping ``cut`` from its end), left-padded with
    NaN for short series: shape (n_records, days)."""
    out = np.full((len(records), days), np.nan)
    for i, record in enumerate(records):
        target = target_array(record)
        if cut:
            target = target[:-cut]
        tail = target[-days:]
        out[i, days - len(tail) :] = tail
    return out


def full_histories(records: list[dict], cut: int = 0) -> list[np.ndarray]:
    return [target_array(r)[:-cut] if cut else target_array(r) for r in records]


def closed_ahead(records: list[dict], days: int) -> np.ndarray:
    """(n_records, days): the last ``days`` of each record's store_closed feature, i.e. the closures known ahead
    for the days being forecast (the horizon of an inference record, the held-out window of a test record)."""
    if not records or not records[0].get("dynamic_feat"):
        return np.zeros((len(records), days), dtype=bool)
    return np.array([np.asarray(r["dynamic_feat"][CLOSED_ROW][-days:], dtype=float) > 0.5 for r in records])


def close_days(forecast: dict, closed: np.ndarray) -> dict:
    """``forecast`` ({"mean": (n, H), q: (n, H)}) with a forecast of 0 and a zero-width band on known closed days."""
    return {k: np.where(closed, 0.0, np.asarray(v, dtype=float)) for k, v in forecast.items()}


@dataclass
class Backtest:
    """Point and quantile forecasts of every method for the held-out window, with the actuals."""

    actual: np.ndarray  # (n_series, H); closed days count as 0 sales
    forecasts: dict[str, dict]  # method -> {"mean": (n, H), q: (n, H)}
    histories: list[np.ndarray]  # each series' target before the window (for MASE)

    def scores(self) -> dict[str, dict[str, float]]:
        return {
            name: metrics.score(self.actual, f["mean"], {q: f[q] for q in QUANTILES}, self.histories)
            for name, f in self.forecasts.items()
        }


def baseline_forecasts(history: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """Every baseline's point forecast for ``horizon`` days after ``history`` (n_series, >= 28 days)."""
    return {name: baselines.forecast(name, history, horizon) for name in baselines.BASELINES}


def run_backtest(test_records: list[dict], prediction_length: int, deepar: list[dict] | None) -> Backtest:
    """Score ``deepar`` (its forecasts for the window, one dict per record) and the baselines on the last
    ``prediction_length`` days of every test record. Baseline quantiles come from their own window residuals."""
    h = prediction_length
    actual = np.nan_to_num(history_matrix(test_records, h))
    before = history_matrix(test_records, 28, cut=h)
    forecasts: dict[str, dict] = {}
    if deepar is not None:
        forecasts[DEEPAR] = {"mean": np.vstack([d["mean"] for d in deepar])}
        forecasts[DEEPAR].update({q: np.vstack([d[q] for d in deepar]) for q in QUANTILES})
    for name, point in baseline_forecasts(before, h).items():
        forecasts[name] = {"mean": point, **baselines.residual_quantiles(point, actual, point, QUANTILES)}
    closed = closed_ahead(test_records, h)  # every candidate forecasts a known closed day as closed
    forecasts = {name: close_days(f, closed) for name, f in forecasts.items()}
    return Backtest(actual=actual, forecasts=forecasts, histories=full_histories(test_records, cut=h))


@dataclass(frozen=True)
class Champion:
    method: str
    best_baseline: str
    deepar_rmsle: float | None
    baseline_rmsle: float

    @property
    def deepar_won(self) -> bool:
        return self.method == DEEPAR

    @property
    def margin(self) -> float | None:
        """How much lower DeepAR's RMSLE is than the best baseline's, as a fraction (negative: DeepAR lost)."""
        if self.deepar_rmsle is None:
            return None
        return 1.0 - self.deepar_rmsle / self.baseline_rmsle if self.baseline_rmsle > 0 else 0.0


def choose_champion(scores: dict[str, dict[str, float]]) -> Champion:
    """DeepAR is published when its backtest RMSLE beats the best baseline's; otherwise that baseline is."""
    candidates = {k: v for k, v in scores.items() if k != DEEPAR}
    best = min(candidates, key=lambda k: candidates[k]["rmsle"])
    deepar_rmsle = scores[DEEPAR]["rmsle"] if DEEPAR in scores else None
    won = deepar_rmsle is not None and deepar_rmsle < candidates[best]["rmsle"]
    return Champion(DEEPAR if won else best, best, deepar_rmsle, candidates[best]["rmsle"])


def forecast_frame(
    series: pd.DataFrame,
    horizon: pd.DatetimeIndex,
    mean: np.ndarray,
    quantiles: dict[float, np.ndarray],
    version: str,
    closed: np.ndarray | None = None,
) -> pd.DataFrame:
    """The published table: date, store_nbr, family, days_ahead (1 = the day after the cut-off), store_closed (a
    closure known ahead: the forecast is 0), mean, p10, p50, p90, model_version (one row per series-day). ``date``
    holds dates (not timestamps), so Parquet stores a DATE column, as the Athena table declares."""
    n, h = mean.shape
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex(np.tile(horizon.values, n)).date,
            "store_nbr": np.repeat(series["store_nbr"].to_numpy(), h),
            "family": np.repeat(series["family"].astype(str).to_numpy(), h),
            "days_ahead": np.tile(np.arange(1, h + 1, dtype=np.int64), n),
            "store_closed": (np.zeros((n, h), dtype=bool) if closed is None else np.asarray(closed, dtype=bool)).ravel(),
            # doubles on every path (GluonTS forecasts float32, SageMaker's JSON parses to float64): one Athena type
            "mean": np.clip(mean, 0, None).astype(np.float64).ravel(),
            "p10": np.asarray(quantiles[0.1], dtype=np.float64).ravel(),
            "p50": np.asarray(quantiles[0.5], dtype=np.float64).ravel(),
            "p90": np.asarray(quantiles[0.9], dtype=np.float64).ravel(),
            "model_version": version,
        }
    )
