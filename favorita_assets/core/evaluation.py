"""The rolling-origin backtest: every candidate scored out of sample on K windows of H days ending at the cut-off
C, cross-conformal bands, each family's champion, and the published mix scored.

Everything works on the test channel's records (targets up to the cut-off C): window w (oldest first) holds the H
days after C - (K - w) * H. A candidate sees only the targets before its window, and over the window only what is
known ahead: closures from the calendar (the test channel's features) and promotions, as at forecast time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from favorita_assets.core import calibration, metrics
from favorita_assets.core.candidates import (
    CANDIDATES,
    DEEPAR,
    ENSEMBLE,
    Problem,
    blend,
    closed_mask,
    ensemble_members,
    stopped_selling,
)
from favorita_assets.core.deepar_format import CLOSED_ROW, DYNAMIC_FEATURES, has_features, target_array

QUANTILES = (0.1, 0.5, 0.9)
__all__ = ["DEEPAR", "QUANTILES", "Backtest", "Evaluation", "evaluate", "problems_from_records", "forecast_frame"]


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


def closed_ahead(records: list[dict], days: int) -> np.ndarray:
    """(n_records, days): the last ``days`` of each record's store_closed feature, i.e. the closures known ahead
    for the days being forecast (the horizon of an inference record, the held-out window of a test record)."""
    if not records or not has_features(records[0]):
        return np.zeros((len(records), days), dtype=bool)
    return np.array([np.asarray(r["dynamic_feat"][CLOSED_ROW][-days:], dtype=float) > 0.5 for r in records])


def close_days(forecast: dict, closed: np.ndarray) -> dict:
    """``forecast`` ({"mean": (n, H), q: (n, H)}) with a forecast of 0 and a zero-width band on known closed days."""
    return {k: np.where(closed, 0.0, np.asarray(v, dtype=float)) for k, v in forecast.items()}


def feature_matrix(records: list[dict], days: int) -> np.ndarray:
    """(n_records, len(DYNAMIC_FEATURES), days): each record's dynamic features, right-aligned (ending where the
    record's features end) and left-padded with 0 for short series."""
    out = np.zeros((len(records), len(DYNAMIC_FEATURES), days), dtype=np.float32)
    for i, record in enumerate(records):
        if not has_features(record):
            continue
        tail = np.asarray(record["dynamic_feat"], dtype=np.float32)[:, -days:]
        out[i, :, days - tail.shape[1] :] = tail
    return out


def problems_from_records(
    test: list[dict], inference: list[dict] | None, h: int, windows: int, cutoff, days: int | None = None
) -> list[Problem]:
    """The ``windows`` backtest problems (oldest first; window w forecasts the h days after cut-off - (windows - w)
    * h, from the test channel, whose features over the held-out days carry only the closures known ahead), then,
    when ``inference`` is given, the publishing problem (the h days after the cut-off, features from the inference
    channel). Every record's target ends on the cut-off. ``days``: the width of the history matrices (the longest
    target of the whole chain, when ``test`` is one group of it, so a group's problems are the chain's rows)."""
    days = days or max(len(r["target"]) for r in test)
    y = history_matrix(test, days)
    cat = np.array([r.get("cat") or [0, 0, 0, 0] for r in test], dtype=np.int64)
    feats = feature_matrix(test, days)
    cutoff = pd.Timestamp(cutoff)
    out = []
    for w in range(windows):
        cut = (windows - w) * h
        out.append(Problem(y[:, : days - cut], feats[:, :, : days - cut + h], cutoff - pd.Timedelta(days=cut), h, cat))
    if inference is not None:
        out.append(Problem(y, feature_matrix(inference, days + h), cutoff, h, cat))
    return out


@dataclass
class Backtest:
    """Every candidate's forecasts for K windows, with the actuals; arrays are (K, n_series, H)."""

    actual: np.ndarray  # closed days count as 0 sales
    closed: np.ndarray  # known ahead to be closed: forecast 0 by every candidate, left out of calibration
    families: np.ndarray  # (n_series,) the family of each series
    scales: np.ndarray  # (K, n_series) MASE denominators, from the history before each window
    windows: list[tuple[pd.Timestamp, pd.Timestamp]]
    forecasts: dict[str, dict]  # candidate -> {"mean": (K, n, H), and q: (K, n, H) where it has quantiles}

    @property
    def k(self) -> int:
        return self.actual.shape[0]

    def _offsets(self, base: dict, rows: np.ndarray, windows: list[int]) -> dict[str, float]:
        return calibration.offsets(
            self.actual[windows][:, rows].ravel(),
            {q: base[q][windows][:, rows].ravel() for q in QUANTILES},
            mask=~self.closed[windows][:, rows].ravel(),
        )

    def bands(self, candidate: str) -> dict[float, np.ndarray]:
        """Cross-conformal P10/P50/P90: window w's band calibrated, per family, on the other windows only (with a
        single window there is nothing else to learn from: the band is the model's own)."""
        base = calibration.base_quantiles(self.forecasts[candidate])
        out = {q: np.zeros_like(self.actual) for q in QUANTILES}
        for family in np.unique(self.families):
            rows = self.families == family
            for w in range(self.k):
                others = [v for v in range(self.k) if v != w]
                offset = (
                    self._offsets(base, rows, others)
                    if others
                    else calibration.offsets(np.empty(0), {q: np.empty(0) for q in QUANTILES})
                )
                band = calibration.apply({q: base[q][w][rows] for q in QUANTILES}, offset)
                for q in QUANTILES:
                    out[q][w][rows] = np.where(self.closed[w][rows], 0.0, band[q])
        return out

    def publishing_offsets(self, candidate: str) -> dict[str, dict[str, float]]:
        """Per family, the offsets learned on every window: what the published band uses."""
        base = calibration.base_quantiles(self.forecasts[candidate])
        return {str(f): self._offsets(base, self.families == f, list(range(self.k))) for f in np.unique(self.families)}


def group_scores(actual, mean, bands, scales, closed) -> dict[str, float]:
    """RMSLE, WAPE, MASE, mean wQL and P10-P90 coverage of one window's forecasts for a group of series."""
    return {
        "rmsle": metrics.rmsle(actual.ravel(), mean.ravel()),
        "wape": metrics.wape(actual.ravel(), mean.ravel()),
        "mase": metrics.mase_scaled(actual, mean, scales),
        "mean_wql": metrics.mean_weighted_quantile_loss(actual.ravel(), {q: b.ravel() for q, b in bands.items()}),
        "coverage": calibration.coverage(actual.ravel(), bands[0.1].ravel(), bands[0.9].ravel(), ~closed.ravel()),
    }


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over windows (NaN windows skipped)."""
    out = {}
    for key in rows[0]:
        values = np.array([r[key] for r in rows], dtype=float)
        out[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    return out


def score_candidate(bt: Backtest, mean: np.ndarray, bands: dict[float, np.ndarray]) -> dict:
    """{"windows": [scores of each window], "overall": their mean, "families": {family: mean over windows},
    "family_windows": {family: [scores of each window]}}."""

    def window(w, rows=slice(None)):
        return group_scores(
            bt.actual[w][rows],
            mean[w][rows],
            {q: b[w][rows] for q, b in bands.items()},
            bt.scales[w][rows],
            bt.closed[w][rows],
        )

    per_window = [window(w) for w in range(bt.k)]
    family_windows = {str(f): [window(w, bt.families == f) for w in range(bt.k)] for f in np.unique(bt.families)}
    return {
        "windows": per_window,
        "overall": mean_scores(per_window),
        "families": {f: mean_scores(v) for f, v in family_windows.items()},
        "family_windows": family_windows,
    }


def choose_per_family(family_scores: dict[str, dict[str, dict]]) -> dict[str, str]:
    """Each family's champion: the candidate with the lowest mean RMSLE over the windows (``family_scores``:
    candidate -> family -> {"rmsle": ...}); a tie goes to the candidate earlier in CANDIDATES."""
    order = [c for c in CANDIDATES if c in family_scores] + sorted(set(family_scores) - set(CANDIDATES))
    families = sorted({f for s in family_scores.values() for f in s})

    def key(candidate, family):
        value = family_scores[candidate].get(family, {}).get("rmsle", float("nan"))
        return (value if np.isfinite(value) else float("inf"), order.index(candidate))

    return {f: min(order, key=lambda c: key(c, f)) for f in families}


@dataclass
class Evaluation:
    backtest: Backtest
    bands: dict[str, dict[float, np.ndarray]]  # candidate -> cross-conformal bands
    scores: dict[str, dict]  # candidate -> score_candidate(...)
    champions: dict[str, str]  # family -> candidate
    offsets: dict[str, dict[str, dict[str, float]]]  # candidate -> family -> offsets for publishing
    published: dict = field(default_factory=dict)  # the published mix, scored, plus "nested"

    def mix(self, champions: dict[str, str] | None = None) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        """The (K, n, H) mean and bands of the published rule: each family's champion."""
        bt = self.backtest
        mean = np.zeros_like(bt.actual)
        bands = {q: np.zeros_like(bt.actual) for q in QUANTILES}
        for family, candidate in (champions or self.champions).items():
            rows = bt.families == family
            mean[:, rows] = bt.forecasts[candidate]["mean"][:, rows]
            for q in QUANTILES:
                bands[q][:, rows] = self.bands[candidate][q][:, rows]
        return mean, bands


def mase_scales(y: np.ndarray, windows: int, h: int, season: int = 7) -> np.ndarray:
    """(windows, n): each series' MASE denominator for each window, from the history before the window."""
    days = y.shape[1]
    return np.stack([metrics.seasonal_scale(y[:, : days - (windows - w) * h], season) for w in range(windows)])


def window_actuals(y: np.ndarray, windows: int, h: int) -> np.ndarray:
    """(windows, n, h): the held-out days of each window (closed days as 0 sales)."""
    days = y.shape[1]
    return np.stack(
        [np.nan_to_num(y[:, days - (windows - w) * h : days - (windows - w) * h + h]) for w in range(windows)]
    )


def evaluate(
    test: list[dict], h: int, windows: int, cutoff, families, forecasts: dict, problems: list[Problem] | None = None
) -> Evaluation:
    """Score every candidate's window forecasts (``forecasts``: candidate -> {"mean": [K arrays (n, H)], q: [...]}
    or just a list of K mean arrays, windows oldest first) on the last ``windows`` x ``h`` days of the test
    records; calibrate their bands cross-conformally; choose each family's champion; score the published mix,
    also with champions chosen without the window being scored ("nested": the rule's honest accuracy).
    ``problems``: what problems_from_records(test, ...) gave the candidates, when the caller has them (with the
    publishing problem, whose history is the whole test target), so they are not built a second time."""
    if problems is None:
        problems = problems_from_records(test, None, h, windows, cutoff)
    if len(problems) > windows:
        y = problems[windows].history
    else:
        y = history_matrix(test, max(len(r["target"]) for r in test))
    problems = problems[:windows]
    closed = np.stack([closed_mask(p) for p in problems])
    zero = closed | np.stack([stopped_selling(p.history, h) for p in problems])[:, :, None]
    stacked = {}
    for name, value in forecasts.items():
        value = value if isinstance(value, dict) else {"mean": value}
        stacked[name] = {
            k: np.where(zero, 0.0, np.clip(np.stack([np.asarray(a, dtype=float) for a in v]), 0, None))
            for k, v in value.items()
        }
    members = ensemble_members(stacked)
    if members:
        stacked[ENSEMBLE] = {"mean": blend([stacked[m]["mean"] for m in members])}
    bt = Backtest(
        actual=window_actuals(y, windows, h),
        closed=closed,
        families=np.asarray(families).astype(str),
        scales=mase_scales(y, windows, h),
        windows=[(p.future_dates[0], p.future_dates[-1]) for p in problems],
        forecasts=stacked,
    )
    bands = {name: bt.bands(name) for name in stacked}
    scores = {name: score_candidate(bt, stacked[name]["mean"], bands[name]) for name in stacked}
    champions = choose_per_family({c: s["families"] for c, s in scores.items()})
    result = Evaluation(bt, bands, scores, champions, {name: bt.publishing_offsets(name) for name in stacked})
    mean, mix_bands = result.mix()
    published = score_candidate(bt, mean, mix_bands)
    nested = []
    for w in range(windows if windows > 1 else 0):
        others = {
            c: {f: mean_scores([fw[v] for v in range(windows) if v != w]) for f, fw in s["family_windows"].items()}
            for c, s in scores.items()
        }
        m, b = result.mix(choose_per_family(others))
        nested.append(group_scores(bt.actual[w], m[w], {q: v[w] for q, v in b.items()}, bt.scales[w], bt.closed[w]))
    published["nested"] = {"windows": nested, "overall": mean_scores(nested)} if nested else None
    result.published = published
    return result


def forecast_frame(
    series: pd.DataFrame,
    horizon: pd.DatetimeIndex,
    mean: np.ndarray,
    quantiles: dict[float, np.ndarray],
    version,
    closed: np.ndarray | None = None,
) -> pd.DataFrame:
    """The published table: date, store_nbr, family, days_ahead (1 = the day after the cut-off), store_closed (a
    closure known ahead: the forecast is 0), mean, p10, p50, p90, model_version (one row per series-day; ``version``
    is one name, or one per series). ``date`` holds dates (not timestamps), so Parquet stores a DATE column, as the
    Athena table declares."""
    n, h = mean.shape
    versions = np.repeat(np.asarray(version, dtype=object), h) if np.ndim(version) else version
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex(np.tile(horizon.values, n)).date,
            "store_nbr": np.repeat(series["store_nbr"].to_numpy(), h),
            "family": np.repeat(series["family"].astype(str).to_numpy(), h),
            "days_ahead": np.tile(np.arange(1, h + 1, dtype=np.int64), n),
            "store_closed": (
                np.zeros((n, h), dtype=bool) if closed is None else np.asarray(closed, dtype=bool)
            ).ravel(),
            # doubles on every path (GluonTS forecasts float32, SageMaker's JSON parses to float64): one Athena type
            "mean": np.clip(mean, 0, None).astype(np.float64).ravel(),
            "p10": np.asarray(quantiles[0.1], dtype=np.float64).ravel(),
            "p50": np.asarray(quantiles[0.5], dtype=np.float64).ravel(),
            "p90": np.asarray(quantiles[0.9], dtype=np.float64).ravel(),
            "model_version": versions,
        }
    )


def publish(
    base: dict[str, dict],
    champions: dict[str, str],
    offsets: dict,
    versions: dict[str, str],
    families: np.ndarray,
    closed: np.ndarray,
    stopped: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[float, np.ndarray], np.ndarray]:
    """What is published for these series (``families``, one per row): each family's champion's mean, its band
    calibrated with that candidate's offsets for the family, known closures at 0 with a zero-width band, and the
    model version per row. ``base``: candidate -> {"mean": (n, h)[, 0.1/0.5/0.9 quantiles]} for these rows;
    ``stopped`` (n,): series that stopped selling (candidates.stopped_selling), forecast 0 as in the backtest."""
    n, h = closed.shape
    mean = np.zeros((n, h))
    quantiles = {q: np.zeros((n, h)) for q in QUANTILES}
    version = np.empty(n, dtype=object)
    for family in np.unique(families):
        rows = families == family
        name = champions[family]
        mean[rows] = base[name]["mean"][rows]
        band = calibration.apply(
            {q: v[rows] for q, v in calibration.base_quantiles(base[name]).items()}, offsets[name][family]
        )
        for q in QUANTILES:
            quantiles[q][rows] = band[q]
        version[rows] = versions[name]
    zero = closed if stopped is None else closed | np.asarray(stopped, dtype=bool)[:, None]
    published = close_days({"mean": mean, **quantiles}, zero)
    return published["mean"], {q: published[q] for q in QUANTILES}, version
