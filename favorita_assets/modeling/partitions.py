"""Monthly cut-offs. Partition "2017-07-01" is July 2017: it trains on history up to the cut-off (the month's last
day, or the last train date when the data ends inside the month) and forecasts the days after it. Backfilling past
months gives a rolling-origin backtest, one cut-off per month.
"""

from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv
from dagster import MonthlyPartitionsDefinition

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


def latest_partition(data_dir: Path) -> str | None:
    """The partition whose cut-off is the last date in ``data_dir``/train.csv (None when it cannot be read: the
    run then reports the problem with the file itself)."""
    try:
        dates = pacsv.read_csv(
            Path(data_dir) / "train.csv", convert_options=pacsv.ConvertOptions(include_columns=["date"])
        ).column("date")
        return partition_of(pd.Timestamp(str(max(dates.to_pylist()))))
    except Exception:  # noqa: BLE001 - any unreadable file is reported by raw_sales with a precise message
        return None
