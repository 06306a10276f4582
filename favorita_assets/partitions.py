"""Monthly cut-offs that follow the data. Partition "2017-07" is July 2017: it trains on history up to the cut-off
(the month's last day, or the last train date when the data ends inside the month) and forecasts the days after it.
Backfilling past months gives a rolling-origin backtest, one cut-off per month.

The partitions are dynamic: ``raw_sales`` adds one for every month of its data that has enough history before it
(see :func:`cutoff_months`), so the UI offers only months that can succeed, and a schedule tick after the data ends
has no partition to fail on.
"""

import re
from pathlib import Path

import pandas as pd
from dagster import DynamicPartitionsDefinition

from favorita_assets import storage_keys as keys
from favorita_assets.core.defaults import (  # noqa: F401  (re-exported: where the rest of the code finds them)
    DEFAULT_BACKTEST_WINDOWS,
    DEFAULT_CONTEXT_LENGTH,
    DEFAULT_PREDICTION_LENGTH,
    MAX_PREDICTION_LENGTH,
    default_context_length,
    minimum_history_days,
)
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.schema import read_dates

CUTOFF_PARTITIONS = DynamicPartitionsDefinition(name="cutoff_month")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def partition_of(day) -> str:
    """The partition key (YYYY-MM) of the month holding ``day``."""
    return f"{pd.Timestamp(day):%Y-%m}"


def month_before(timestamp) -> str:
    """The partition of the last whole month before ``timestamp``: on the 1st (when the monthly retrain fires) and
    on any later day of a month alike, the month before it (a retrain cron set to another day, say the 2nd, still
    forecasts the month that ended, not the one under way)."""
    start = pd.Timestamp(timestamp)
    return partition_of(start.replace(day=1) - pd.Timedelta(days=1))


def cutoff_of(month: str, last_date) -> pd.Timestamp:
    """The cut-off of ``month`` (YYYY-MM): its last day, or ``last_date`` when the data ends inside it."""
    return min(pd.Timestamp(f"{month}-01") + pd.offsets.MonthEnd(0), pd.Timestamp(last_date))


def cutoff_months(
    first_date,
    last_date,
    prediction_length: int = DEFAULT_PREDICTION_LENGTH,
    context_length: int | None = None,
    backtest_windows: int = DEFAULT_BACKTEST_WINDOWS,
) -> list[str]:
    """Every month (YYYY-MM) whose cut-off has enough history for ``prediction_length``, up to the month of
    ``last_date``."""
    first, last = pd.Timestamp(first_date), pd.Timestamp(last_date)
    earliest = first + pd.Timedelta(days=minimum_history_days(prediction_length, context_length, backtest_windows) - 1)
    months = pd.period_range(earliest, last, freq="M").strftime("%Y-%m").tolist() if earliest <= last else []
    return [m for m in months if cutoff_of(m, last) >= earliest]


def check_month(
    month: str,
    first_date,
    last_date,
    prediction_length: int = DEFAULT_PREDICTION_LENGTH,
    context_length: int | None = None,
    source: str = "train.csv",
    backtest_windows: int = DEFAULT_BACKTEST_WINDOWS,
) -> str:
    """``month`` if it is a cut-off the data supports, else FavoritaDataError saying what is allowed."""
    allowed = cutoff_months(first_date, last_date, prediction_length, context_length, backtest_windows)
    span = f"{pd.Timestamp(first_date):%Y-%m-%d} to {pd.Timestamp(last_date):%Y-%m-%d}"
    need = minimum_history_days(prediction_length, context_length, backtest_windows)
    why = (
        f"a {context_length or default_context_length(prediction_length)}-day context, one horizon to train on and "
        f"{backtest_windows} backtest windows of one horizon each"
    )
    if not _MONTH.match(str(month)):
        raise FavoritaDataError(
            source,
            f"month {month!r} is not a month written YYYY-MM",
            column="date",
            value=month,
            fix=f"give a month such as {allowed[-1] if allowed else '2017-08'}",
        )
    if month in allowed:
        return month
    if not allowed:
        problem = (
            f"the data ({span}) is shorter than the {need} days of history a {prediction_length}-day "
            f"forecast needs ({why})"
        )
        fix = "use a longer train.csv, or a shorter --prediction-length"
    elif month > allowed[-1]:
        problem = f"month {month} is after the data, which runs from {span}"
        fix = f"land newer data, or choose a month from {allowed[0]} to {allowed[-1]}"
    else:
        problem = (
            f"month {month} has too little history before it: the data starts {pd.Timestamp(first_date):%Y-%m-%d} "
            f"and a {prediction_length}-day forecast needs {need} days ({why})"
        )
        fix = f"choose a month from {allowed[0]} to {allowed[-1]}, or a shorter --prediction-length"
    raise FavoritaDataError(source, problem, column="date", value=month, fix=fix)


def train_date_range(path: Path) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last date in a train.csv, reading only its date column."""
    dates = read_dates(path)
    if len(dates) == 0:
        raise FavoritaDataError(Path(path).name, "the file has no rows", fix="use the full train.csv")
    return dates.min(), dates.max()


def no_data_for(month: str, settings, storage) -> str | None:
    """Why a retrain of ``month`` has nothing to work on (the data does not reach it), or None when it has."""
    span = data_date_range(settings, storage)
    if span is not None and partition_of(span[1]) < month:
        return (
            f"no data for {month}: train.csv ends {span[1]:%Y-%m-%d}; land newer data (the upload_raw_data job, "
            "or a new train.csv in the data folder) and the next monthly retrain runs"
        )
    return None


def data_date_range(settings, storage) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last train date of the data the graph will read (the data folder, or the landing manifest), or
    None when it cannot be told without reading the data in full (the run then reports on the file itself)."""
    if settings.raw_source == "landing":
        if not storage.exists(keys.LANDING_MANIFEST):
            return None
        manifest = storage.read_json(keys.LANDING_MANIFEST)
        if "train_first_date" not in manifest:
            return None
        return pd.Timestamp(manifest["train_first_date"]), pd.Timestamp(manifest["train_last_date"])
    try:
        return train_date_range(Path(settings.data_dir) / "train.csv")
    except FavoritaDataError:
        return None
