"""Monthly cut-offs. Partition "2017-07-01" is July 2017: it trains on history up to the cut-off (the month's last
day, or the last train date when the data ends inside the month) and forecasts the days after it. Backfilling past
months gives a rolling-origin backtest, one cut-off per month.
"""

from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv
from dagster import MonthlyPartitionsDefinition

from favorita_assets import storage_keys as keys
from favorita_assets.core.errors import FavoritaDataError

CUTOFF_PARTITIONS = MonthlyPartitionsDefinition(start_date="2014-01-01", end_offset=1)


def cutoff_for(partition_key: str, last_date: pd.Timestamp) -> pd.Timestamp:
    """The cut-off of a monthly partition given the data's last date."""
    month_start = pd.Timestamp(partition_key)
    if month_start > last_date:
        raise FavoritaDataError(
            "train.csv",
            f"partition {partition_key[:7]} starts after the data ends ({last_date.date()})",
            column="date",
            value=str(last_date.date()),
            fix=f"land newer data, or materialize a partition up to {last_date:%Y-%m}",
        )
    return min(month_start + pd.offsets.MonthEnd(0), pd.Timestamp(last_date))


def partition_of(day: pd.Timestamp) -> str:
    """The partition key of the month holding ``day``."""
    return f"{pd.Timestamp(day):%Y-%m}-01"


def month_before(timestamp) -> str:
    """The partition of the month that ended before ``timestamp`` (the monthly retrain fires on the 1st)."""
    return partition_of(pd.Timestamp(timestamp) - pd.Timedelta(days=1))


def last_train_date(path: Path) -> str:
    """The last date (YYYY-MM-DD) in a train.csv, reading only its date column."""
    try:
        dates = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=["date"])).column("date")
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same plain message
        raise FavoritaDataError(Path(path).name, f"cannot read its date column ({str(error).splitlines()[0]})",
                                column="date", fix="use a train.csv in Kaggle's layout "
                                "(id,date,store_nbr,family,sales,onpromotion)") from None  # fmt: skip
    if len(dates) == 0:
        raise FavoritaDataError(Path(path).name, "the file has no rows", fix="use the full train.csv")
    return str(max(dates.to_pylist()))[:10]


def latest_partition(data_dir: Path) -> str | None:
    """The partition whose cut-off is the last date in ``data_dir``/train.csv (None when it cannot be read: the
    run then reports the problem with the file itself)."""
    try:
        return partition_of(last_train_date(Path(data_dir) / "train.csv"))
    except FavoritaDataError:
        return None


def landed_partition(storage) -> str | None:
    """The partition of the last date of the train.csv in the landing zone (from its upload manifest)."""
    if not storage.exists(keys.LANDING_MANIFEST):
        return None
    return partition_of(storage.read_json(keys.LANDING_MANIFEST)["train_last_date"])
