"""The challengers beside DeepAR, each from a library: seasonal naive baselines, statsforecast's MFLES (weekly and
yearly seasonality, promotions and holidays as regressors) and CrostonOptimized (intermittent demand), a global
LightGBM model through mlforecast, and, opt-in because it is slow, statsforecast's MSTL (weekly and yearly STL
decomposition with an ETS trend; no regressors).

Every candidate answers the same :class:`Problem`: the targets up to an origin, the known-ahead features over the
history and the ``horizon`` days after it, and each series' categorical codes. ``forecast_all(problems)`` gets the
backtest windows (oldest first) and then the publishing origin, and returns one (n_series, horizon) point forecast
per problem. Local models refit at every origin. The global model (LightGBM, like DeepAR) is trained once, on the
history up to the earliest origin, so every window is out of sample for it, and forecasts the later windows and
the horizon from their later history: what is scored is exactly what is published.

Pure: pandas, numpy, statsforecast, mlforecast, lightgbm; no Dagster, no AWS.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from favorita_assets.core import baselines
from favorita_assets.core.cores import available_cores
from favorita_assets.core.deepar_format import CLOSED_ROW, DYNAMIC_FEATURES

DEEPAR = "deepar"
CANDIDATES = (
    DEEPAR,
    "last_week",
    "mean_last_4_weekdays",
    "mfles",
    "croston",
    "lightgbm",
    "lightgbm_direct",
    "mstl",
    "autoets",
    "ets",
)
# Scored by default. The statistical models are opt-in: on the real transactions neither beat the seasonal naive
# baselines per store (benchmarks/forecast_benchmark.py), MFLES costs a minute on 1,782 series and MSTL about 0.3 s
# per series and window (20 min); MSTL is the one to add for a few hundred aggregate series. ETS (additive error,
# no trend, additive weekly season, on log1p) is the exception: on the real sales it scores as well as AutoETS's
# whole search (0.3995 against 0.3999 over the three 16-day windows) in a seventeenth of the time (40 s), and as a
# member of the ensemble it lowers the published forecast's nested RMSLE from 0.3937 to 0.3915
# (benchmarks/ensemble_members.py).
DEFAULT_CHALLENGERS = ("last_week", "mean_last_4_weekdays", "croston", "ets", "lightgbm", "lightgbm_direct")
# The ensemble: the mean in log1p units of the learned models' forecasts (those of them that ran), a candidate of its
# own that each family may choose like any other. Averaging in log1p units is the mean that RMSLE rewards; its
# members are fixed, not picked on the windows, so its backtest score is honest.
ENSEMBLE = "ensemble"
ENSEMBLE_MEMBERS = (DEEPAR, "lightgbm", "lightgbm_direct", "ets")
LABELS = {
    ENSEMBLE: "ensemble (log1p mean of DeepAR, the LightGBMs and ETS)",
    DEEPAR: "DeepAR",
    "last_week": "last week repeated",
    "mean_last_4_weekdays": "mean of the last 4 same weekdays",
    "mfles": "MFLES (weekly + yearly seasonality, promotions, holidays)",
    "croston": "Croston (intermittent demand)",
    "lightgbm": "LightGBM (global, gradient-boosted, recursive)",
    "lightgbm_direct": "LightGBM direct (one model per day ahead)",
    "autoets": "AutoETS (weekly season, log1p)",
    "ets": "ETS (level and weekly season, log1p)",
    "mstl": "MSTL (weekly + yearly seasonality, ETS trend)",
}


def labels_of(summary: dict) -> dict[str, str]:
    """The candidates' labels as an evaluation summary names them: the trained model's says which backend made it
    ("Amazon Forecast (AutoPredictor)" in DeepAR's place), the challengers' are LABELS."""
    return {**LABELS, **{name: c["label"] for name, c in summary.get("candidates", {}).items() if c.get("label")}}


CANDIDATES_SETTING = "forecast_evaluation's candidates (run config: ops.forecast_evaluation.config.candidates)"


def check_candidates(candidates: list[str] | tuple[str, ...]) -> None:
    """Refuse, before any work, a list of challengers the backtest cannot use: an unknown name, or none of the
    seasonal naive baselines, which the quality gate compares DeepAR with (it would have nothing to judge against).
    Raises a FavoritaDataError naming the setting and what to do."""
    from favorita_assets.core.errors import FavoritaDataError

    choices = ", ".join(c for c in CANDIDATES if c != DEEPAR)
    unknown = [c for c in candidates if c not in CANDIDATES or c == DEEPAR]
    if unknown:
        raise FavoritaDataError(
            CANDIDATES_SETTING,
            f"{unknown[0]!r} is not a challenger (DeepAR always runs)"
            if len(unknown) == 1
            else f"{unknown} are not challengers",
            fix=f"name challengers from: {choices}",
            value=unknown[0] if len(unknown) == 1 else unknown,
        )
    if not set(candidates) & set(baselines.BASELINES):
        raise FavoritaDataError(
            CANDIDATES_SETTING,
            "leaves out both seasonal naive baselines, which the quality gate compares DeepAR with",
            fix=f"add last_week or mean_last_4_weekdays (or both), e.g. candidates: {['last_week', *candidates]}",
            value=list(candidates),
        )


# Whether a candidate's forecast moves with the promotions it is given (a what-if can only move these).
USES_PROMOTIONS = {
    DEEPAR: True,
    "lightgbm": True,
    "mfles": True,
    "last_week": False,
    "mean_last_4_weekdays": False,
    "croston": False,
    "mstl": False,
    "lightgbm_direct": True,
    "autoets": False,
    "ets": False,
    ENSEMBLE: True,
}
PROMO_ROW = DYNAMIC_FEATURES.index("log1p_onpromotion")
REGRESSORS = [f for f in DYNAMIC_FEATURES if f != "store_closed"]  # closed days are forecast 0 by every candidate
CAT_NAMES = ("store", "family", "store_type", "cluster")


@dataclass
class Problem:
    """One forecast to make: ``history`` (n, t) targets up to ``origin`` (NaN: closed, or not open yet),
    ``features`` (n, len(DYNAMIC_FEATURES), t + horizon) known ahead, ``cat`` (n, 4) codes."""

    history: np.ndarray
    features: np.ndarray
    origin: pd.Timestamp
    horizon: int
    cat: np.ndarray

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.date_range(end=self.origin, periods=self.history.shape[1], freq="D")

    @property
    def future_dates(self) -> pd.DatetimeIndex:
        return pd.date_range(self.origin + pd.Timedelta(days=1), periods=self.horizon, freq="D")


def _threads(n_series: int | None = None) -> int:
    """Worker processes or threads: every core, except for a few series, where starting workers costs more."""
    if n_series is not None and n_series < 200:
        return 1
    return available_cores()


def _long(problem: Problem, days: int, log: bool, fill_closed: bool) -> pd.DataFrame:
    """The last ``days`` of ``problem`` as a long frame (unique_id, ds, y, regressors), each series starting on its
    first observed day. Closed days: y filled from the same weekday a week before when ``fill_closed`` (a model
    without a closure feature would otherwise learn a dip), else 0."""
    y = problem.history[:, -days:].astype(float)
    feats = problem.features[:, :, problem.history.shape[1] - y.shape[1] : problem.history.shape[1]]
    n, t = y.shape
    started = np.cumsum(np.isfinite(y), axis=1) > 0
    if fill_closed:
        for lag in (7, 14, 21, 28):
            shifted = np.full_like(y, np.nan)
            shifted[:, lag:] = y[:, :-lag]
            y = np.where(np.isnan(y) & started, shifted, y)
    y = np.where(started, np.nan_to_num(y), np.nan)
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), t),
            "ds": np.tile(problem.dates[-t:].values, n),
            "y": np.log1p(y.ravel()) if log else y.ravel(),
        }
    )
    for i, name in enumerate(DYNAMIC_FEATURES):
        frame[name] = feats[:, i, :].ravel()
    return frame[started.ravel()].reset_index(drop=True)


def _future(problem: Problem) -> pd.DataFrame:
    n, h = problem.history.shape[0], problem.horizon
    frame = pd.DataFrame({"unique_id": np.repeat(np.arange(n), h), "ds": np.tile(problem.future_dates.values, n)})
    for i, name in enumerate(DYNAMIC_FEATURES):
        frame[name] = problem.features[:, i, -h:].ravel()
    return frame


def _matrix(out: pd.DataFrame, column: str, n: int, h: int, log: bool) -> np.ndarray:
    """(n, h) from a library's long output; series it did not forecast (never open before the origin) get 0."""
    result = np.zeros((n, h))
    out = out.sort_values(["unique_id", "ds"])
    values = out[column].to_numpy(dtype=float)
    values = np.expm1(values) if log else values
    for uid, block in zip(*np.unique(out["unique_id"].to_numpy(), return_index=True), strict=True):
        result[int(uid)] = values[block : block + h]
    return np.clip(np.nan_to_num(result), 0, None)


class Baseline:
    def __init__(self, name: str):
        self.name = name

    def forecast_all(self, problems: list[Problem]) -> list[np.ndarray]:
        return [baselines.forecast(self.name, p.history[:, -28:], p.horizon) for p in problems]


class StatsForecastModel:
    """A statsforecast model refitted at every origin on the last ``days`` of history."""

    def __init__(self, name: str, days: int, log: bool, regressors: bool, threads: int | None = None):
        self.name, self.days, self.log, self.regressors, self.threads = name, days, log, regressors, threads

    def model(self):
        from statsforecast.models import MFLES, MSTL, AutoETS, CrostonOptimized

        if self.name == "mfles":
            return MFLES(season_length=[7, 365], fourier_order=5, max_rounds=20)
        if self.name == "mstl":  # STL's loess evaluated every 5th point (statsmodels' *_jump): 2.5x faster, same fit
            jumps = {"seasonal_jump": 5, "trend_jump": 5, "low_pass_jump": 5}
            return MSTL(season_length=[7, 365], trend_forecaster=AutoETS(model="ZZN"), stl_kwargs=jumps)
        if self.name == "autoets":
            return AutoETS(season_length=7)
        if self.name == "ets":  # one model, no search: additive error, no trend, additive weekly season
            return AutoETS(season_length=7, model="ANA")
        return CrostonOptimized()

    def forecast_all(self, problems: list[Problem]) -> list[np.ndarray]:
        from statsforecast import StatsForecast
        from statsforecast.models import SeasonalNaive

        out = []
        for p in problems:
            df = _long(p, self.days, log=self.log, fill_closed=True)
            keep = ["unique_id", "ds", "y", *(REGRESSORS if self.regressors else [])]
            sf = StatsForecast(
                models=[self.model()],
                freq="D",
                n_jobs=self.threads or _threads(p.history.shape[0]),
                fallback_model=SeasonalNaive(7),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = sf.forecast(
                    df=df[keep],
                    h=p.horizon,
                    X_df=_future(p)[["unique_id", "ds", *REGRESSORS]] if self.regressors else None,
                )
            column = [c for c in result.columns if c not in ("unique_id", "ds")][0]
            out.append(_matrix(result.reset_index(), column, p.history.shape[0], p.horizon, self.log))
        return out


class LightGBMModel:
    """mlforecast + LightGBM, one model for every series: recursive lags (1-7, 14, 21, 28) and rolling means of
    the log1p target, calendar features (weekday, day of month for the paydays, month, day of year), the
    known-ahead regressors (promotions, holidays, events, paydays, closures) and the store metadata as
    categories. Trained on the ``days`` before the earliest origin."""

    name = "lightgbm"
    context = 70  # days of history each later origin hands the model: the longest lag plus the rolling window

    def __init__(self, days: int = 365, n_estimators: int = 300, seed: int = 0, threads: int | None = None):
        self.days, self.n_estimators, self.seed, self.threads = days, n_estimators, seed, threads

    def _frame(self, problem: Problem, days: int) -> pd.DataFrame:
        frame = _long(problem, days, log=True, fill_closed=False)
        codes = problem.cat[frame["unique_id"].to_numpy()]
        for i, name in enumerate(CAT_NAMES):
            frame[name] = pd.Categorical(codes[:, i], categories=range(int(problem.cat[:, i].max()) + 1))
        return frame

    def fit(self, first: Problem):
        """The mlforecast model, trained on the ``days`` before ``first``'s origin (the earliest)."""
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean

        model = MLForecast(
            models={
                "lightgbm": lgb.LGBMRegressor(
                    n_estimators=self.n_estimators,
                    learning_rate=0.05,
                    num_leaves=63,
                    min_child_samples=40,
                    subsample=0.8,
                    subsample_freq=1,
                    colsample_bytree=0.8,
                    random_state=self.seed,
                    deterministic=True,
                    force_row_wise=True,
                    n_jobs=self.threads or _threads(),
                    verbose=-1,
                )
            },
            freq="D",
            lags=[1, 2, 3, 4, 5, 6, 7, 14, 21, 28],
            lag_transforms={
                1: [RollingMean(window_size=7), RollingMean(window_size=28)],
                7: [SeasonalRollingMean(season_length=7, window_size=4)],
            },
            date_features=["dayofweek", "day", "month", "dayofyear"],
            num_threads=1,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(self._frame(first, self.days), static_features=list(CAT_NAMES))
        return model

    def predict(self, model, p: Problem, before_predict_callback=None) -> pd.DataFrame:
        """``model``'s recursive log1p forecast of ``p``'s horizon, long (unique_id, ds, lightgbm);
        ``before_predict_callback`` sees each step's feature frame (mlforecast's hook)."""
        new = self._frame(p, self.context)
        future = _future(p)[["unique_id", "ds", *DYNAMIC_FEATURES]]
        future = future[future["unique_id"].isin(new["unique_id"].unique())]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.predict(h=p.horizon, new_df=new, X_df=future, before_predict_callback=before_predict_callback)

    def forecast_all(self, problems: list[Problem]) -> list[np.ndarray]:
        model = self.fit(problems[0])
        return [_matrix(self.predict(model, p), "lightgbm", p.history.shape[0], p.horizon, log=True) for p in problems]


class DirectLightGBM:
    """The direct multi-horizon LightGBM of direct_gbm.py: fitted once on origins before the earliest window (so
    every window is out of sample), then forecasting each window and the horizon from their own origin."""

    name = "lightgbm_direct"

    def __init__(self, seed: int = 0, threads: int | None = None):
        from favorita_assets.core.direct_gbm import DirectSettings

        self.settings, self.threads = DirectSettings(seed=seed), threads

    @staticmethod
    def _inputs(p: Problem):
        with np.errstate(invalid="ignore"):
            y = np.log1p(np.clip(p.history.astype(float), 0, None))
        dates = pd.date_range(p.dates[0], periods=p.features.shape[2], freq="D")
        return y, p.features.astype(float), p.cat, dates, p.history.shape[1], p.horizon

    def forecast_all(self, problems: list[Problem]) -> list[np.ndarray]:
        from favorita_assets.core.direct_gbm import DirectGBM

        model = DirectGBM(self.settings, threads=self.threads or _threads()).fit(*self._inputs(problems[0]))
        return [model.predict(*self._inputs(p)) for p in problems]


def blend(forecasts: list[np.ndarray]) -> np.ndarray:
    """The ensemble of point forecasts (any shape, the same for each): expm1 of the mean of their log1p."""
    return np.expm1(np.mean([np.log1p(np.clip(np.asarray(f, dtype=float), 0, None)) for f in forecasts], axis=0))


def ensemble_members(available) -> list[str]:
    """The members of the ensemble among ``available`` candidates; none when fewer than two are there."""
    members = [m for m in ENSEMBLE_MEMBERS if m in available]
    return members if len(members) >= 2 else []


def challenger(name: str, seed: int = 0, threads: int | None = None):
    """The candidate called ``name`` (every one in CANDIDATES but DeepAR, which a trainer backend runs).
    ``threads``: worker processes or threads it may use (None: every core, or 1 for a few series); a Spark task
    passes 1, as Spark runs one task per core."""
    if name in baselines.BASELINES:
        return Baseline(name)
    if name == "mfles":
        return StatsForecastModel("mfles", days=800, log=True, regressors=True, threads=threads)
    if name == "mstl":
        return StatsForecastModel("mstl", days=800, log=True, regressors=False, threads=threads)
    if name == "autoets":
        return StatsForecastModel("autoets", days=365, log=True, regressors=False, threads=threads)
    if name == "ets":
        return StatsForecastModel("ets", days=365, log=True, regressors=False, threads=threads)
    if name == "croston":
        return StatsForecastModel("croston", days=365, log=False, regressors=False, threads=threads)
    if name == "lightgbm":
        return LightGBMModel(seed=seed, threads=threads)
    if name == "lightgbm_direct":
        return DirectLightGBM(seed=seed, threads=threads)
    raise ValueError(f"unknown candidate {name!r}; choose from {', '.join(c for c in CANDIDATES if c != DEEPAR)}")


DEAD_DAYS = 56


def stopped_selling(history: np.ndarray, horizon: int, days: int = DEAD_DAYS) -> np.ndarray:
    """(n,): the series that sold nothing in their last ``days`` days, nor in the weeks around the same days a year
    before (a seasonal family waking up, such as school supplies before the school year, is not stopped). Every
    candidate forecasts them 0: they have stopped selling, or were delisted, and nothing beats 0 there."""
    sold = np.nan_to_num(np.asarray(history, dtype=float)) > 0
    t = sold.shape[1]
    recent = sold[:, max(0, t - days) :].any(axis=1)
    a, b = t - 364 - 7, t - 364 + horizon + 7
    year_before = sold[:, max(0, a) : max(0, b)].any(axis=1) if b > 0 else np.zeros(len(sold), dtype=bool)
    return ~recent & ~year_before


def closed_mask(problem: Problem) -> np.ndarray:
    """(n, horizon): days known ahead to be closed."""
    return problem.features[:, CLOSED_ROW, -problem.horizon :] > 0.5
