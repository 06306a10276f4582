"""Coherent totals: the all-stores total, each store's total and each family's total, beside the bottom level.

Means are summed bottom-up, so every total equals the sum of its series. A total's P10/P50/P90 are never summed
quantiles (that assumes every series misses in the same direction on the same day). They come from the total's
own out-of-sample errors: the bottom-up mean of the published mix is compared with the summed actuals on each
backtest window, and the band is calibrated on those errors like the bottom level's (calibration.py): window w's
coverage is measured with offsets learned on the other windows, the published band with all of them.

Pure numpy/pandas: no Dagster, no AWS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from favorita_assets.core import calibration

LEVELS = ("total", "store", "family")
TOTALS_COLUMNS = ["level", "store_nbr", "family", "date", "days_ahead", "mean", "p10", "p50", "p90"]


def level_keys(stores: np.ndarray, families: np.ndarray) -> dict[str, np.ndarray]:
    """For each level, the key of the aggregate each bottom series belongs to."""
    n = len(stores)
    return {
        "total": np.full(n, "all", dtype=object),
        "store": np.asarray(stores).astype(str).astype(object),
        "family": np.asarray(families).astype(str).astype(object),
    }


def aggregate(values: np.ndarray, keys: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Sum ``values`` (..., n_series, h) over series sharing a key: (sorted keys, (..., n_keys, h))."""
    names = sorted(set(keys.tolist()), key=lambda k: (len(k), k) if k.isdigit() else (0, k))
    out = np.stack([np.asarray(values)[..., keys == k, :].sum(axis=-2) for k in names], axis=-2)
    return names, out


def _point(mean: np.ndarray) -> dict[float, np.ndarray]:
    return dict.fromkeys((calibration.LOW, calibration.MID, calibration.HIGH), mean)


def backtest_totals(actual: np.ndarray, mean: np.ndarray, stores: np.ndarray, families: np.ndarray) -> dict:
    """Per level: the publishing offsets of every aggregate, and the P10-P90 coverage and RMSLE on each window
    (cross-conformal). ``actual`` and ``mean`` are (K, n, H): the published mix's backtest."""
    k = actual.shape[0]
    out = {}
    for level, keys in level_keys(stores, families).items():
        names, agg_actual = aggregate(actual, keys)
        _, agg_mean = aggregate(mean, keys)
        offsets, coverage, rmsle = {}, [], []
        for w in range(k):
            inside, total = 0, 0
            for g in range(len(names)):
                others = [v for v in range(k) if v != w]
                if not others:
                    continue
                off = calibration.offsets(agg_actual[others, g].ravel(), _point(agg_mean[others, g].ravel()))
                band = calibration.apply(_point(agg_mean[w, g]), off)
                y = agg_actual[w, g]
                inside += int(((y >= band[0.1] - 1e-9) & (y <= band[0.9] + 1e-9)).sum())
                total += y.size
            coverage.append(inside / total if total else float("nan"))
            rmsle.append(float(np.sqrt(np.mean((np.log1p(agg_mean[w]) - np.log1p(agg_actual[w])) ** 2))))
        for g, name in enumerate(names):
            offsets[name] = calibration.offsets(agg_actual[:, g].ravel(), _point(agg_mean[:, g].ravel()))
        out[level] = {"offsets": offsets, "coverage": coverage, "rmsle": rmsle}
    return out


def totals_frame(
    horizon: pd.DatetimeIndex,
    mean: np.ndarray,
    stores: np.ndarray,
    families: np.ndarray,
    offsets: dict[str, dict[str, dict]],
) -> pd.DataFrame:
    """The published totals: for every level and aggregate, the bottom-up mean of each horizon day and its
    calibrated band (``offsets``: level -> key -> the offsets of backtest_totals)."""
    frames = []
    h = mean.shape[1]
    for level, keys in level_keys(stores, families).items():
        names, agg = aggregate(mean, keys)
        for g, name in enumerate(names):
            band = calibration.apply(_point(agg[g]), offsets[level][name])
            frames.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "store_nbr": pd.array([int(name) if level == "store" else None] * h, dtype="Int64"),
                        "family": name if level == "family" else None,
                        "date": horizon.date,
                        "days_ahead": np.arange(1, h + 1, dtype=np.int64),
                        "mean": agg[g].astype(np.float64),
                        "p10": band[0.1],
                        "p50": band[0.5],
                        "p90": band[0.9],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[TOTALS_COLUMNS]
