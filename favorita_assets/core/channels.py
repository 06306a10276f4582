"""A cut-off's DeepAR channels built from the cleaned series, the same way by every engine.

A build has three steps:

1. :func:`prepare_channels` makes the small things every series needs from small tables: the category encoding,
   the horizon's features (known promotions, holidays, paydays, closures known ahead) and the closures known before
   the backtest window. Locally they come from the cleaned table in memory (:func:`prepare_from_cleaned`); in AWS
   Glue the Spark driver derives the same small tables (one row per store and day, one per series, the horizon's
   rows) with Spark and calls the same function.
2. :func:`~favorita_assets.core.deepar_format.encode_series` turns each series into its JSON lines, one series at
   a time: locally in one loop, in Glue on the executors (``groupBy(store_nbr, family).applyInPandas``).
3. The lines are written in (store_nbr, family) order: one file per channel locally, ordered part files in Glue.
   :class:`ChannelDigests` hashes the bytes in that order, so the fingerprint, the data version and the manifest
   (:func:`training_manifest`) come out the same whichever engine built them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from favorita_assets.core.deepar_format import (
    CHANNEL_COLUMNS,
    CHANNEL_NAMES,
    DYNAMIC_FEATURES,
    CategoryEncoding,
    SeriesPlan,
    series_plan,
    write_channels,
)
from favorita_assets.core.features import horizon_features, known_promotions, recurring_closures

SERIES_COLUMNS = ["store_nbr", "family", "store_type", "cluster"]  # one row per series: the encoding's input
DAY_COLUMNS = ["store_nbr", "date", "store_closed"]  # one row per store and day suffices for the closures
PROMOTION_COLUMNS = ["store_nbr", "family", "date", "onpromotion"]  # the horizon's rows in a past cut-off's data


@dataclass(frozen=True)
class ChannelInputs:
    """What a build derives before it encodes any series (all of it small)."""

    plan: SeriesPlan
    closures: pd.DataFrame  # the stores' yearly closures (store_nbr, month, day), known ahead of the horizon
    promotions_source: str  # where the horizon's promotions came from (test.csv, cleaned_series, none)
    horizon_features: pd.DataFrame


def horizon_of(cutoff: pd.Timestamp, prediction_length: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(cutoff) + pd.Timedelta(days=1), periods=prediction_length, freq="D")


def prepare_channels(
    days: pd.DataFrame,
    series: pd.DataFrame,
    horizon_rows: pd.DataFrame,
    test: pd.DataFrame | None,
    stores: pd.DataFrame,
    holidays: pd.DataFrame,
    cutoff: pd.Timestamp,
    prediction_length: int,
    backtest_windows: int = 1,
) -> ChannelInputs:
    """The inputs of a build from small tables of the history up to ``cutoff``:

    - ``days``: store_nbr, date, store_closed (every row of the history, or one per store and day);
    - ``series``: store_nbr, family, store_type, cluster of each series (duplicates allowed);
    - ``horizon_rows``: store_nbr, family, date, onpromotion of the cleaned rows on the horizon's days (there are
      some when the cut-off is in the past: what was promoted is then known);
    - ``test``: Kaggle's test.csv (the promotion plan), or None; ``stores``, ``holidays``: the landed tables.
    """
    if days.empty:
        raise ValueError(f"no history on or before the cut-off {pd.Timestamp(cutoff).date()}")
    horizon = horizon_of(cutoff, prediction_length)
    promotions, source = known_promotions(test, horizon_rows, horizon)
    closures = recurring_closures(days)
    future = horizon_features(series[["store_nbr", "family"]], horizon, stores, holidays, promotions, closures)
    encoding = CategoryEncoding.from_frame(series)
    known = set(pd.DatetimeIndex(promotions["date"]).unique()) if len(promotions) else set()
    unknown = tuple(i for i, day in enumerate(horizon) if day not in known)
    plan = series_plan(days, encoding, cutoff, prediction_length, future, backtest_windows, unknown)
    return ChannelInputs(plan=plan, closures=closures, promotions_source=source, horizon_features=future)


def prepare_from_cleaned(
    cleaned: pd.DataFrame,
    test: pd.DataFrame | None,
    stores: pd.DataFrame,
    holidays: pd.DataFrame,
    cutoff: pd.Timestamp,
    prediction_length: int,
    backtest_windows: int = 1,
) -> tuple[pd.DataFrame, ChannelInputs]:
    """The history up to ``cutoff`` and the build's inputs, from the cleaned table in memory (the local engine)."""
    cutoff = pd.Timestamp(cutoff)
    horizon = horizon_of(cutoff, prediction_length)
    horizon_rows = cleaned.loc[cleaned["date"].isin(horizon), PROMOTION_COLUMNS]
    history = cleaned if cleaned["date"].max() <= cutoff else cleaned.loc[cleaned["date"] <= cutoff]
    inputs = prepare_channels(
        history[DAY_COLUMNS],
        history[SERIES_COLUMNS],
        horizon_rows,
        test,
        stores,
        holidays,
        cutoff,
        prediction_length,
        backtest_windows,
    )
    return history, inputs


class ChannelDigests:
    """The fingerprint (sha256 of the train then the test channel's bytes: what the model is trained and scored on)
    and the data version (all three channels, each followed by a NUL byte), from the channels' bytes in order."""

    def __init__(self) -> None:
        self._fingerprint = hashlib.sha256()
        self._version = hashlib.sha256()

    def add(self, channel: str, chunks: Iterable[bytes]) -> None:
        """Add one channel's bytes; call for train, test and inference in that order."""
        for chunk in chunks:
            if channel in ("train", "test"):
                self._fingerprint.update(chunk)
            self._version.update(chunk)
        self._version.update(b"\0")

    @property
    def fingerprint(self) -> str:
        return self._fingerprint.hexdigest()

    @property
    def data_version(self) -> str:
        return self._version.hexdigest()[:16]


def file_chunks(path: str | Path, chunk: int = 1 << 22) -> Iterable[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            yield block


def by_day_of_year(closures: pd.DataFrame) -> dict[str, list[int]]:
    """{"01-01": [stores closed every 1 January], ...}"""
    out: dict[str, list[int]] = {}
    for store, month, day in closures[["store_nbr", "month", "day"]].itertuples(index=False):
        out.setdefault(f"{month:02d}-{day:02d}", []).append(int(store))
    return out


def channel_summary(
    inputs: ChannelInputs,
    counts: Mapping[str, int],
    sizes: Mapping[str, int],
    series: pd.DataFrame,
    digests: ChannelDigests,
    likelihood: str,
    small_count_share: float,
    files: Mapping[str, list[str]],
) -> dict[str, Any]:
    """What a build reports (JSON-ready): the manifest's content plus the counts, sizes and files written."""
    return {
        "counts": dict(counts),
        "sizes": dict(sizes),
        "files": {name: list(files[name]) for name in CHANNEL_NAMES},
        "series": {"store_nbr": [int(v) for v in series["store_nbr"]], "family": [str(v) for v in series["family"]]},
        "encoding": inputs.plan.encoding.to_dict(),
        "fingerprint": digests.fingerprint,
        "data_version": digests.data_version,
        "likelihood": likelihood,
        "small_count_share": float(small_count_share),
        "promotions_source": inputs.promotions_source,
        "yearly_closures": by_day_of_year(inputs.closures),
    }


def build_channel_files(
    cleaned: pd.DataFrame,
    test: pd.DataFrame | None,
    stores: pd.DataFrame,
    holidays: pd.DataFrame,
    cutoff: pd.Timestamp,
    prediction_length: int,
    backtest_windows: int,
    folder: str | Path,
) -> dict[str, Any]:
    """The whole build in one process (the local engine, and Glue's ``pandas`` engine): the channels streamed series
    by series into ``folder``/{train,test,inference}.json; returns :func:`channel_summary` (files: those paths)."""
    history, inputs = prepare_from_cleaned(cleaned, test, stores, holidays, cutoff, prediction_length, backtest_windows)
    del cleaned
    written = write_channels(
        history,
        cutoff,
        prediction_length,
        inputs.horizon_features,
        folder,
        backtest_windows=backtest_windows,
        unknown_promotions=inputs.plan.unknown_promotions,
    )
    digests = ChannelDigests()
    for name in CHANNEL_NAMES:
        digests.add(name, file_chunks(written.paths[name]))
    return channel_summary(
        inputs,
        written.counts,
        written.sizes,
        written.series,
        digests,
        written.likelihood,
        written.small_count_share,
        {n: [str(p)] for n, p in written.paths.items()},
    )


def training_manifest(
    partition: str,
    cutoff: pd.Timestamp,
    data_dates: tuple[pd.Timestamp, pd.Timestamp],
    prediction_length: int,
    backtest_windows: int,
    summary: Mapping[str, Any],
) -> dict[str, Any]:
    """``manifest.json`` of the channels: what training, the backtest and the forecasts need to read them."""
    encoding = CategoryEncoding.from_dict(summary["encoding"])
    return {
        "partition": partition,
        "cutoff": f"{pd.Timestamp(cutoff):%Y-%m-%d}",
        "data_dates": [f"{pd.Timestamp(d):%Y-%m-%d}" for d in data_dates],
        "prediction_length": prediction_length,
        "backtest_windows": backtest_windows,
        "horizon": [f"{d:%Y-%m-%d}" for d in horizon_of(cutoff, prediction_length)],
        "dynamic_feat": list(DYNAMIC_FEATURES),
        "encoding": encoding.to_dict(),
        "cardinality": encoding.cardinality,
        "series": summary["series"],
        "fingerprint": summary["fingerprint"],
        "data_version": summary["data_version"],  # all three channels: the horizon's promotions and holidays too
        "promotions_source": summary["promotions_source"],
        "small_count_share": round(summary["small_count_share"], 4),
        "likelihood_auto": summary["likelihood"],
        "yearly_closures": summary["yearly_closures"],
        **({"forecast_datasets": summary["forecast_datasets"]} if summary.get("forecast_datasets") else {}),
    }


__all__ = [
    "CHANNEL_COLUMNS",
    "ChannelDigests",
    "ChannelInputs",
    "build_channel_files",
    "channel_summary",
    "prepare_channels",
    "prepare_from_cleaned",
    "training_manifest",
]
