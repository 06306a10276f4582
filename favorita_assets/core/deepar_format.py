"""Cleaned series <-> SageMaker DeepAR JSON Lines: the train, test and inference channels, and their validation.

SageMaker's rules (https://docs.aws.amazon.com/sagemaker/latest/dg/deepar.html), which :func:`validate_lines` enforces:
- ``start``: "YYYY-MM-DD HH:MM:SS", no time zone;
- ``target``: numbers, a missing value written as the string "NaN" (we mark days a store was closed so: a closed
  day is not zero demand);
- ``cat``: 0-based integer codes, the same number in every record;
- ``dynamic_feat``: the same number of series in every record, each as long as ``target`` in the train and test
  channels, and ``len(target) + prediction_length`` in the inference channel (the future part covers the horizon).

Channels for a cut-off date C and horizon H:
- train: every series up to C - K x H (the last K windows of H days are held out for the backtest);
- test: every series up to C (SageMaker scores its last H points);
- inference: every series up to C, with features running to C + H (future promotions from test.csv or the plan).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from favorita_assets.core.features import known_closed, recurring_closures, weekday_promotions

START_FORMAT = "%Y-%m-%d %H:%M:%S"
# (name, how it is made from a cleaned_series-like frame). Oil is left out: its future is unknown at forecast time.
DYNAMIC_FEATURES = ("log1p_onpromotion", "is_holiday", "is_event", "is_payday", "store_closed")
CLOSED_ROW = DYNAMIC_FEATURES.index("store_closed")
PROMO_ROW = DYNAMIC_FEATURES.index("log1p_onpromotion")


class DeepARFormatError(ValueError):
    """A JSON Lines record that SageMaker DeepAR would reject; the message names the record and the field."""


@dataclass(frozen=True)
class CategoryEncoding:
    """The 0-based codes of each categorical feature, in ``cat`` order (store_nbr, family, store_type, cluster)."""

    store_nbr: list[int]
    family: list[str]
    store_type: list[str]
    cluster: list[int]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CategoryEncoding:
        return cls(
            store_nbr=sorted(int(v) for v in frame["store_nbr"].unique()),
            family=sorted(str(v) for v in frame["family"].unique()),
            store_type=sorted(str(v) for v in frame["store_type"].unique()),
            cluster=sorted(int(v) for v in frame["cluster"].unique()),
        )

    @property
    def cardinality(self) -> list[int]:
        return [len(self.store_nbr), len(self.family), len(self.store_type), len(self.cluster)]

    def codes(self, store_nbr: int, family: str, store_type: str, cluster: int) -> list[int]:
        return [
            self.store_nbr.index(int(store_nbr)),
            self.family.index(str(family)),
            self.store_type.index(str(store_type)),
            self.cluster.index(int(cluster)),
        ]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict) -> CategoryEncoding:
        return cls(**value)


def feature_rows(frame: pd.DataFrame) -> np.ndarray:
    """The dynamic features of each row, shape (len(DYNAMIC_FEATURES), len(frame)), as float32."""
    return np.vstack(
        [
            np.log1p(frame["onpromotion"].to_numpy(dtype=np.float64)),
            frame["is_holiday"].to_numpy(dtype=np.float64),
            frame["is_event"].to_numpy(dtype=np.float64),
            frame["is_payday"].to_numpy(dtype=np.float64),
            frame["store_closed"].to_numpy(dtype=np.float64),
        ]
    ).astype(np.float32)


def _numbers(values: np.ndarray, decimals: int) -> list:
    """Round and turn into JSON-ready Python numbers; NaN becomes the string "NaN" (SageMaker's missing value)."""
    rounded = np.round(values.astype(np.float64), decimals)
    out = rounded.tolist()
    if np.isnan(rounded).any():
        out = ["NaN" if isinstance(v, float) and math.isnan(v) else v for v in out]
    return out


def _record(start: pd.Timestamp, target: np.ndarray, cat: list[int], feats: np.ndarray) -> dict:
    return {
        "start": start.strftime(START_FORMAT),
        "target": _numbers(target, 3),
        "cat": cat,
        "dynamic_feat": [_numbers(row, 4) for row in feats],
    }


# What the channels read from cleaned_series: a reader can ask for these columns alone.
CHANNEL_COLUMNS = [
    "date",
    "store_nbr",
    "family",
    "sales",
    "onpromotion",
    "store_closed",
    "is_holiday",
    "is_event",
    "is_payday",
    "store_type",
    "cluster",
]


@dataclass
class Channels:
    """The three channels as lists of JSON-ready records, plus what decoding them needs."""

    train: list[dict]
    test: list[dict]
    inference: list[dict]
    series: pd.DataFrame  # one row per inference record: store_nbr, family (same order as test and inference)
    encoding: CategoryEncoding
    horizon: pd.DatetimeIndex


@dataclass(frozen=True)
class SeriesRecords:
    """One series' records: train (None when it has no observed day before the backtest), test and inference."""

    store_nbr: int
    family: str
    train: dict | None
    test: dict
    inference: dict


def iter_series_records(
    cleaned: pd.DataFrame,
    cutoff: pd.Timestamp,
    prediction_length: int,
    horizon_features: pd.DataFrame,
    backtest_windows: int = 1,
    unknown_promotions: tuple[int, ...] = (),
) -> tuple[CategoryEncoding, pd.DatetimeIndex, Iterator[SeriesRecords]]:
    """The encoding, the horizon, and the records of ``cleaned`` (up to ``cutoff``) series by series, in
    (store_nbr, family) order. Only one series' records exist as Python lists at a time: :func:`write_channels`
    streams them to files, :func:`build_channels` keeps them all.

    ``horizon_features`` holds, for each (store_nbr, family) and each of the ``prediction_length`` days after
    ``cutoff``, the columns onpromotion, is_holiday, is_event, is_payday, store_closed (see features.py).
    Days a store was closed are written as "NaN" targets. Series with fewer than one observed day before the
    backtest window are left out of the train channel (DeepAR cannot learn from them) but kept in test and inference.
    """
    cutoff = pd.Timestamp(cutoff)
    history = cleaned if cleaned["date"].max() <= cutoff else cleaned.loc[cleaned["date"] <= cutoff]
    if not _in_series_order(history):  # cleaned_series is stored in this order: no copy to sort it
        history = history.sort_values(["store_nbr", "family", "date"], kind="stable")
    if history.empty:
        raise ValueError(f"no history on or before the cut-off {cutoff.date()}")
    plan = series_plan(
        history,
        CategoryEncoding.from_frame(history),
        cutoff,
        prediction_length,
        horizon_features,
        backtest_windows,
        unknown_promotions,
    )
    return plan.encoding, plan.horizon, encode_series(history, plan)


@dataclass(frozen=True)
class SeriesPlan:
    """What encoding a series needs besides its own rows; small, made once for all series (a Spark driver broadcasts
    it to the executors, which encode one series at a time with it)."""

    encoding: CategoryEncoding
    horizon: pd.DatetimeIndex
    future: pd.DataFrame  # the horizon's features, indexed by (store_nbr, family, date)
    held: int  # the backtest's days
    window_closures: pd.DataFrame  # closures known before the backtest window (recurring_closures)
    # the horizon's days (0-based) whose promotion plan is unknown: estimated from each series' recent weeks, and
    # the backtest windows then estimated the same way (so they score what is published)
    unknown_promotions: tuple[int, ...] = ()


def series_plan(
    days: pd.DataFrame,
    encoding: CategoryEncoding,
    cutoff: pd.Timestamp,
    prediction_length: int,
    horizon_features: pd.DataFrame,
    backtest_windows: int = 1,
    unknown_promotions: tuple[int, ...] = (),
) -> SeriesPlan:
    """The plan for the history up to ``cutoff``. ``days`` holds the history's (store_nbr, date, store_closed): every
    row of the cleaned series, or one per store and day (a closure is the same for every family of a store)."""
    cutoff = pd.Timestamp(cutoff)
    horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=prediction_length, freq="D")
    held = prediction_length * backtest_windows
    future = horizon_features.astype({"family": str}).set_index(["store_nbr", "family", "date"]).sort_index()
    window_closures = recurring_closures(days, before=cutoff - pd.Timedelta(days=held - 1))
    return SeriesPlan(encoding, horizon, future, held, window_closures, tuple(unknown_promotions))


def encode_series(history: pd.DataFrame, plan: SeriesPlan) -> Iterator[SeriesRecords]:
    """The records of every series in ``history`` (rows sorted by store_nbr, family, date: one series, or many),
    one series at a time."""
    encoding, horizon, future, held = plan.encoding, plan.horizon, plan.future, plan.held
    target_all = history["sales"].to_numpy(dtype=np.float64).copy()
    target_all[history["store_closed"].to_numpy(dtype=bool)] = np.nan
    feats_all = feature_rows(history)
    history_promotions = history["onpromotion"].to_numpy(dtype=np.float64)
    stores = history["store_nbr"].to_numpy()
    codes, families = _codes(history["family"])
    boundaries = np.flatnonzero((stores[1:] != stores[:-1]) | (codes[1:] != codes[:-1])) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(history)]])
    dates = history["date"].to_numpy()
    type_codes, store_types = _codes(history["store_type"])
    clusters = history["cluster"].to_numpy()
    for a, b in zip(starts, ends, strict=True):
        store, family = int(stores[a]), str(families[codes[a]])
        cat = encoding.codes(store, family, str(store_types[type_codes[a]]), clusters[a])
        start = pd.Timestamp(dates[a])
        target, feats = target_all[a:b], feats_all[:, a:b]
        try:
            ahead = future.loc[(store, family)].reindex(horizon)
        except KeyError:
            raise ValueError(f"no horizon features for store {store}, family {family}") from None
        if ahead.isna().any().any():
            missing = ahead.index[ahead.isna().any(axis=1)][0].date()
            raise ValueError(f"horizon features for store {store}, family {family} miss {missing}")
        future_feats = feature_rows(ahead)
        counts = np.nan_to_num(history_promotions[a:b]) if plan.unknown_promotions else None
        if counts is not None:
            unknown = list(plan.unknown_promotions)
            future_feats[PROMO_ROW, unknown] = np.log1p(weekday_promotions(counts, len(horizon))[unknown])
        # The held-out days may carry only what is known at forecast time: closures there are the ones known
        # ahead (25 December, and the store's yearly closures before the window), not the sales later observed.
        test_feats = feats.copy()
        held_out = pd.DatetimeIndex(dates[max(a, b - held) : b])
        test_feats[CLOSED_ROW, test_feats.shape[1] - len(held_out) :] = known_closed(
            np.full(len(held_out), store), held_out, plan.window_closures
        )
        if counts is not None:  # each window's promotions estimated from the weeks before it, as published
            step = len(horizon)
            for end in range(len(target) - held, len(target), step):
                if end > 0:
                    days = min(step, len(target) - end)
                    test_feats[PROMO_ROW, end : end + days] = np.log1p(weekday_promotions(counts[:end], days))
        n_train = len(target) - held
        train = None
        if n_train > 0 and np.isfinite(target[:n_train]).any():
            train = _record(start, target[:n_train], cat, feats[:, :n_train])
        yield SeriesRecords(
            store,
            family,
            train,
            _record(start, target, cat, test_feats),
            _record(start, target, cat, np.hstack([feats, future_feats])),
        )


def series_lines(one: SeriesRecords) -> dict[str, bytes | None]:
    """One series' JSON line (with its newline) in each channel; None where the series has no record."""
    return {
        name: None if (record := getattr(one, name)) is None else orjson.dumps(record) + b"\n" for name in CHANNEL_NAMES
    }


def _codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes in sorted order of the values, and the values (a categorical's own; no string per row)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        if list(categories) == sorted(categories):
            return column.cat.codes.to_numpy(), categories
        column = column.astype(str)
    codes, values = pd.factorize(column, sort=True)
    return codes, pd.Index(values)


def _in_series_order(frame: pd.DataFrame) -> bool:
    """Are the rows sorted by store_nbr, family, date (each date once per series)?"""
    if len(frame) < 2:
        return True
    store = np.diff(frame["store_nbr"].to_numpy())
    family = np.diff(_codes(frame["family"])[0].astype(np.int64))
    day = np.diff(frame["date"].to_numpy().astype("datetime64[ns]").astype(np.int64))
    return bool(((store > 0) | ((store == 0) & ((family > 0) | ((family == 0) & (day > 0))))).all())


def build_channels(
    cleaned: pd.DataFrame,
    cutoff: pd.Timestamp,
    prediction_length: int,
    horizon_features: pd.DataFrame,
    backtest_windows: int = 1,
    unknown_promotions: tuple[int, ...] = (),
) -> Channels:
    """Every record of :func:`iter_series_records` held in memory: the whole-table path (tests and benchmarks; the
    pipeline streams with :func:`write_channels`)."""
    encoding, horizon, records = iter_series_records(
        cleaned, cutoff, prediction_length, horizon_features, backtest_windows, unknown_promotions
    )
    train, test, inference, series = [], [], [], []
    for one in records:
        if one.train is not None:
            train.append(one.train)
        test.append(one.test)
        inference.append(one.inference)
        series.append((one.store_nbr, one.family))
    return Channels(
        train=train,
        test=test,
        inference=inference,
        series=pd.DataFrame(series, columns=["store_nbr", "family"]),
        encoding=encoding,
        horizon=horizon,
    )


CHANNEL_NAMES = ("train", "test", "inference")


@dataclass
class ChannelFiles:
    """The channels written to ``paths`` (one JSON Lines file each), and what the manifest needs of them."""

    paths: dict[str, Path]
    counts: dict[str, int]
    sizes: dict[str, int]
    series: pd.DataFrame
    encoding: CategoryEncoding
    horizon: pd.DatetimeIndex
    small_count_share: float
    likelihood: str


def write_channels(
    cleaned: pd.DataFrame,
    cutoff: pd.Timestamp,
    prediction_length: int,
    horizon_features: pd.DataFrame,
    folder: str | Path,
    backtest_windows: int = 1,
    unknown_promotions: tuple[int, ...] = (),
) -> ChannelFiles:
    """The channels of :func:`build_channels`, streamed series by series into ``folder``/{train,test,inference}.json:
    the same bytes as ``to_json_lines`` of its lists, and the same likelihood, without holding the records."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    encoding, horizon, records = iter_series_records(
        cleaned, cutoff, prediction_length, horizon_features, backtest_windows, unknown_promotions
    )
    paths = {name: folder / f"{name}.json" for name in CHANNEL_NAMES}
    counts = dict.fromkeys(CHANNEL_NAMES, 0)
    tally = LikelihoodTally()
    series: list[tuple[int, str]] = []
    handles = {name: open(path, "wb", buffering=1 << 20) for name, path in paths.items()}  # noqa: SIM115
    try:
        for one in records:
            for name, line in series_lines(one).items():
                if line is not None:
                    handles[name].write(line)
                    counts[name] += 1
            if one.train is not None:
                tally.add(one.train)
            series.append((one.store_nbr, one.family))
    finally:
        for handle in handles.values():
            handle.close()
    likelihood, share = tally.result()
    return ChannelFiles(
        paths=paths,
        counts=counts,
        sizes={n: p.stat().st_size for n, p in paths.items()},
        series=pd.DataFrame(series, columns=["store_nbr", "family"]),
        encoding=encoding,
        horizon=horizon,
        small_count_share=share,
        likelihood=likelihood,
    )


def has_features(record: dict) -> bool:
    """Does the record carry dynamic features (JSON lists or a compact record's array)?"""
    feats = record.get("dynamic_feat")
    return feats is not None and len(feats) > 0


def compact_record(record: dict) -> dict:
    """A record as a reader keeps it: the target as float64 (NaN for "NaN"), the dynamic features as one float32
    block (len(DYNAMIC_FEATURES), days). About 7 times smaller than the JSON lists, and :func:`json_ready` gives the
    lists back exactly (targets have at most 3 decimals, features at most 4 and stay far below float32's precision)."""
    out = {**record, "target": target_array(record)}
    if has_features(record):
        out["dynamic_feat"] = np.asarray(record["dynamic_feat"], dtype=np.float32)
    return out


def json_ready(record: dict) -> dict:
    """The record in SageMaker's JSON form: a compact record's arrays as lists, "NaN" for a missing target."""
    target, feats = record.get("target"), record.get("dynamic_feat")
    if not isinstance(target, np.ndarray) and not isinstance(feats, np.ndarray):
        return record
    out = dict(record)
    if isinstance(target, np.ndarray):
        out["target"] = _numbers(target, 3)
    if isinstance(feats, np.ndarray) or (feats and isinstance(feats[0], np.ndarray)):
        out["dynamic_feat"] = [_numbers(np.asarray(row, dtype=np.float64), 4) for row in feats]
    return out


def to_json_lines(records: Iterable[dict]) -> bytes:
    """One compact JSON object per line (the format SageMaker's train, test and batch-transform channels read).

    orjson writes the same bytes as ``json.dumps(record, separators=(",", ":"))`` for these records (ASCII keys and
    strings, floats rounded to at most 4 decimals) about 5x faster. Compact records are written as their lists."""
    return b"".join(orjson.dumps(json_ready(r)) + b"\n" for r in records)


def iter_json_lines_file(path: str | Path) -> Iterator[dict]:
    """The records of a JSON Lines file, read line by line: neither the file nor the channel is held whole."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    raise DeepARFormatError(f"line {number}: not valid JSON ({error.msg})") from None


def read_json_lines(data: bytes) -> Iterator[dict]:
    """The records of a JSON Lines channel, one at a time (a consumer that turns each into arrays never holds the
    whole channel as Python lists)."""
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise DeepARFormatError(f"line {number}: not valid JSON ({error.msg})") from None


def target_array(record: dict, dtype: type = np.float64) -> np.ndarray:
    """The target as floats with "NaN" strings (or nulls) as NaN."""
    try:  # numpy parses the string "NaN" itself; only nulls need the slow path
        return np.asarray(record["target"], dtype=dtype)
    except TypeError:
        return np.array([np.nan if v is None else v for v in record["target"]], dtype=dtype)


SMALL_COUNT = 10  # daily values below this are "small counts"
SMALL_COUNT_SHARE = 0.05  # ... and this share of them makes the data count-like


class LikelihoodTally:
    """What :func:`suggest_likelihood` counts, added record by record (a stream of train records)."""

    def __init__(self) -> None:
        self.small = self.observed = 0

    @classmethod
    def from_counts(cls, small: int, observed: int) -> LikelihoodTally:
        """The tally of records whose :meth:`counts` sum to these (what a distributed builder adds up)."""
        tally = cls()
        tally.small, tally.observed = small, observed
        return tally

    def add(self, record: dict) -> None:
        small, observed = self.counts(record)
        self.small += small
        self.observed += observed

    @staticmethod
    def counts(record: dict) -> tuple[int, int]:
        """(small counts, observed days) of one train record: what a distributed builder sums per series."""
        target = target_array(record)
        seen = target[np.isfinite(target)]
        return int((seen < SMALL_COUNT).sum()), int(seen.size)

    def result(self) -> tuple[str, float]:
        share = self.small / self.observed if self.observed else 1.0
        return ("negative-binomial" if share >= SMALL_COUNT_SHARE else "student-T"), share


def suggest_likelihood(records: Iterable[dict]) -> tuple[str, float]:
    """What DeepAR's ``likelihood="auto"`` resolves to for these (train channel) records, and the share of observed
    target values below ``SMALL_COUNT`` that decided it.

    negative-binomial when at least ``SMALL_COUNT_SHARE`` of the observed days are small counts: zeros and the
    discreteness of small numbers matter there, and RMSLE weighs them most (store × family sales). student-T when the
    values sit far from zero (store transactions, in the thousands), where a continuous, heavy-tailed noise model
    fits the day-to-day swings better (benchmarks/deepar_windows.py compares the two on the real transactions).
    """
    tally = LikelihoodTally()
    for record in records:
        tally.add(record)
    return tally.result()


def validate_lines(
    records: Iterable[dict], channel: str, prediction_length: int, num_dynamic_feat: int | None = None
) -> int:
    """Raise DeepARFormatError for the first record SageMaker DeepAR would reject (rules in the module docstring);
    else return the number of records. ``records`` may be a stream: they are looked at one at a time.

    ``channel`` is "train", "test" or "inference"; in "inference" each dynamic feature must run
    ``prediction_length`` days past the target.
    """
    records = iter(records)
    first = next(records, None)
    if first is None:
        raise DeepARFormatError(f"{channel}: the channel has no records")
    n_cat = len(first.get("cat", []))
    n_feat = len(first.get("dynamic_feat", [])) if num_dynamic_feat is None else num_dynamic_feat
    extra = prediction_length if channel == "inference" else 0
    count = 0
    for i, record in enumerate(itertools.chain([first], records), start=1):
        count = i
        where = f"{channel} record {i}"
        start = record.get("start")
        try:
            ok = isinstance(start, str) and pd.Timestamp(start).strftime(START_FORMAT) == start
        except ValueError:
            ok = False
        if not ok:
            raise DeepARFormatError(f"{where}: start {start!r} is not 'YYYY-MM-DD HH:MM:SS'")
        target = record.get("target")
        if not isinstance(target, list) or not target:
            raise DeepARFormatError(f"{where}: target must be a non-empty list")
        bad = [
            v
            for v in target
            if not (v == "NaN" or v is None or isinstance(v, (int, float)) and not isinstance(v, bool))
        ]
        if bad:
            raise DeepARFormatError(f'{where}: target holds {bad[0]!r}; only numbers and "NaN" are allowed')
        cat = record.get("cat", [])
        if len(cat) != n_cat or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in cat):
            raise DeepARFormatError(f"{where}: cat {cat!r} must be {n_cat} non-negative integers")
        feats = record.get("dynamic_feat", [])
        if len(feats) != n_feat:
            raise DeepARFormatError(f"{where}: {len(feats)} dynamic_feat series, the others have {n_feat}")
        for j, feat in enumerate(feats):
            if len(feat) != len(target) + extra:
                raise DeepARFormatError(
                    f"{where}: dynamic_feat[{j}] has {len(feat)} values; it must have {len(target) + extra} "
                    f"(len(target){' + prediction_length' if extra else ''})"
                )
            if any(not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) for v in feat):
                raise DeepARFormatError(f"{where}: dynamic_feat[{j}] must hold finite numbers only")
    return count


# --- SageMaker DeepAR inference: requests and responses (https://docs.aws.amazon.com/sagemaker/latest/dg/deepar-in-formats.html)


# DeepAR's point forecast, the same in both backends: expm1 of the mean of log1p over its deciles, i.e. the mean of
# its forecast distribution in log1p units (the quantile function's midpoint rule), which is the point RMSLE
# rewards and the kind of point the LightGBMs forecast (they are trained on log1p sales). The distribution's own mean
# sits far above it on intermittent series (a negative binomial's long right tail): in the runs that chose the
# defaults on the real sales, that mean scored RMSLE 0.416 to 0.450 and this point 0.404.
POINT_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def point_forecast(quantiles: dict[float, np.ndarray]) -> np.ndarray:
    """The point forecast from a forecast's POINT_QUANTILES (more keys are ignored)."""
    logs = [np.log1p(np.clip(np.asarray(quantiles[q], dtype=np.float64), 0, None)) for q in POINT_QUANTILES]
    return np.expm1(np.mean(logs, axis=0))


def quantile_name(q: float) -> str:
    """How DeepAR names a quantile in requests and responses: 0.1 -> "0.1"."""
    return f"{q:g}"


def inference_instances(records: list[dict], cut: int = 0, prediction_length: int | None = None) -> list[dict]:
    """Records as DeepAR inference instances, with ``cut`` days dropped from each target (a backtest forecasts the
    days it holds out). With ``prediction_length``, the dynamic features are cut to len(target) + prediction_length
    (a window further back than one horizon); without it they keep their length."""
    if not cut:
        return records
    out = []
    for record in records:
        pad = cut + 1 - len(record["target"])
        if pad > 0:  # a series younger than the window: the days before it began are missing, not absent
            record = _left_pad(record, pad)
        instance = {**record, "target": record["target"][:-cut]}
        if prediction_length is not None and has_features(record):
            end = len(instance["target"]) + prediction_length
            feats = record["dynamic_feat"]
            instance["dynamic_feat"] = feats[:, :end] if isinstance(feats, np.ndarray) else [row[:end] for row in feats]
        out.append(instance)
    return out


def _left_pad(record: dict, days: int) -> dict:
    """``record`` starting ``days`` earlier: missing targets ("NaN") and zero features on the days added."""
    start = (pd.Timestamp(record["start"]) - pd.Timedelta(days=days)).strftime(START_FORMAT)
    target = record["target"]
    if isinstance(target, np.ndarray):
        target = np.concatenate([np.full(days, np.nan, dtype=target.dtype), target])
    else:
        target = ["NaN"] * days + list(target)
    padded = {**record, "start": start, "target": target}
    if has_features(record):
        feats = record["dynamic_feat"]
        padded["dynamic_feat"] = (
            np.hstack([np.zeros((feats.shape[0], days), dtype=feats.dtype), feats])
            if isinstance(feats, np.ndarray)
            else [[0.0] * days + list(row) for row in feats]
        )
    return padded


def window_instances(test: list[dict], h: int, windows: int) -> list[dict]:
    """DeepAR instances for every backtest window, oldest first: the test records cut at each window's origin,
    features to the window's end. One prediction job (one batch transform) then covers every window."""
    return [i for w in range(windows) for i in inference_instances(test, (windows - w) * h, h)]


def inference_configuration(quantiles: Iterable[float], num_samples: int) -> dict:
    """The ``configuration`` of an endpoint request, and DEEPAR_INFERENCE_CONFIG of a batch transform."""
    return {
        "num_samples": int(num_samples),
        "output_types": ["mean", "quantiles"],
        "quantiles": [quantile_name(q) for q in quantiles],
    }


# InvokeEndpoint refuses request bodies over 6 MB; batches stay a margin below it.
ENDPOINT_MAX_BYTES = 5 * 1024 * 1024


def endpoint_requests(
    instances: list[dict], configuration: dict, max_bytes: int = ENDPOINT_MAX_BYTES, max_series: int = 1000
) -> Iterator[tuple[bytes, int]]:
    """The bodies of the endpoint requests for ``instances``, in order: ``{"instances": [...], "configuration":
    {...}}``, each at most ``max_bytes`` and ``max_series`` series. Yields (body, number of series in it). Raises
    ValueError when one series alone is too large to send."""
    head, tail = b'{"instances":[', b'],"configuration":' + orjson.dumps(configuration) + b"}"
    batch: list[bytes] = []
    size = len(head) + len(tail)
    for i, instance in enumerate(instances):
        encoded = orjson.dumps(json_ready(instance))
        if len(head) + len(tail) + len(encoded) > max_bytes:
            raise ValueError(
                f"series {i} alone is {len(encoded):,} bytes as JSON, over the endpoint's request limit "
                f"of {max_bytes:,}: use batch inference (FAVORITA_SAGEMAKER_INFERENCE=batch)"
            )
        if batch and (size + len(encoded) + 1 > max_bytes or len(batch) >= max_series):
            yield head + b",".join(batch) + tail, len(batch)
            batch, size = [], len(head) + len(tail)
        batch.append(encoded)
        size += len(encoded) + 1
    if batch:
        yield head + b",".join(batch) + tail, len(batch)


def parse_predictions(predictions: list[dict], quantiles: Iterable[float], prediction_length: int) -> list[dict]:
    """DeepAR's answers (an endpoint's ``predictions`` list, or a batch transform's output lines, in input order) as
    ``{"mean": array, q: array, ...}`` per series, clipped at 0 like the local backend's. Raises ValueError when an
    answer lacks a quantile or has the wrong length."""
    out = []
    for i, prediction in enumerate(predictions):
        row: dict[str | float, np.ndarray] = {"mean": np.asarray(prediction["mean"], dtype=np.float64)}
        for q in quantiles:
            values = prediction.get("quantiles", {}).get(quantile_name(q))
            if values is None:
                raise ValueError(f"DeepAR prediction {i} has no quantile {quantile_name(q)!r}")
            row[q] = np.asarray(values, dtype=np.float64)
        for name, values in row.items():
            if len(values) != prediction_length:
                raise ValueError(f"DeepAR prediction {i} {name} has {len(values)} values, not {prediction_length}")
            row[name] = np.clip(values, 0, None)
        out.append(row)
    return out
