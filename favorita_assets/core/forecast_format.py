"""Amazon Forecast's shape of the same data: its three dataset files written from the DeepAR inference channel, and
its export files (a forecast export, a predictor's backtest export) read back into the forecasts' shape.

A series' test and inference records hold everything Forecast imports for it: the target up to the cut-off, the
dynamic features up to the cut-off plus the horizon (Forecast's related time series must reach over the horizon), and
the categories (its item metadata). The history's features come from the test record, the horizon's from the
inference record: over the backtest windows the test channel carries only what was known ahead (closures known in
advance, promotions estimated as published), as DeepAR and the challengers are scored, whereas the inference record
carries the closures later observed there, which Forecast's backtest must not see. Deriving all three from the
channels keeps Amazon Forecast on exactly the data DeepAR trains and is scored on.

- target time series (RETAIL domain): ``item_id,timestamp,demand``; a closed day's target is an empty field, which
  Forecast reads as missing (the predictor's filling keeps it missing, as DeepAR's "NaN");
- related time series: ``item_id,timestamp`` + the DeepAR dynamic features, every day of history and horizon;
- item metadata: ``item_id,store_nbr,family,store_type,cluster``.

The files have no header: Forecast maps columns by the dataset schema's order. ``item_id`` is ``<store>_<FAMILY>``
with every run of characters other than letters and digits made one ``_`` ("1_BREAD_BAKERY"); the family column
spells the family the same way, since Forecast's CSV reader takes no quoted fields (families hold commas).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from favorita_assets.core.deepar_format import DYNAMIC_FEATURES, CategoryEncoding, iter_json_lines_file

DATASETS = ("target", "related", "items")  # one folder of CSV parts each, beside the DeepAR channels
DATASET_TYPES = {"target": "TARGET_TIME_SERIES", "related": "RELATED_TIME_SERIES", "items": "ITEM_METADATA"}
TIMESTAMP_FORMAT = "yyyy-MM-dd"  # the import jobs' TimestampFormat: daily data, dates only
FORECAST_TYPES = ("0.1", "0.5", "0.9", "mean")  # the quantiles the evaluation scores, and the mean
ITEM_COLUMNS = ("store_nbr", "family", "store_type", "cluster")


def _attribute(name: str, kind: str) -> dict[str, str]:
    return {"AttributeName": name, "AttributeType": kind}


SCHEMAS: dict[str, dict] = {
    "target": {
        "Attributes": [
            _attribute("item_id", "string"),
            _attribute("timestamp", "timestamp"),
            _attribute("demand", "float"),
        ]
    },
    "related": {
        "Attributes": [
            _attribute("item_id", "string"),
            _attribute("timestamp", "timestamp"),
            *(_attribute(name, "float") for name in DYNAMIC_FEATURES),
        ]
    },
    "items": {"Attributes": [_attribute("item_id", "string"), *(_attribute(name, "string") for name in ITEM_COLUMNS)]},
}


class ForecastFormatError(ValueError):
    """Data that cannot be put in Amazon Forecast's shape, or an export file that is not in it."""


def plain(text: str) -> str:
    """A family (or any label) as Forecast's CSV takes it: runs of other characters than letters and digits as one _."""
    return re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_")


def item_id(store_nbr: int, family: str) -> str:
    return f"{int(store_nbr)}_{plain(family)}"


def check_item_ids(encoding: CategoryEncoding) -> None:
    """Refuses two families that would spell the same item_id."""
    spelled: dict[str, str] = {}
    for family in encoding.family:
        other = spelled.setdefault(plain(family), family)
        if other != family:
            raise ForecastFormatError(
                f"families {other!r} and {family!r} are both {plain(family)!r} in Amazon "
                "Forecast's item_id: rename one of them in the sales data"
            )


def _number(value) -> str:
    """A channel value as Forecast reads it: "NaN" (a closed day) or NaN is an empty field (missing). A float32 (a
    compact record's feature) is written by its shortest repr, which is the JSON's rounded number."""
    if value is None or isinstance(value, str):
        return "" if value in (None, "NaN") else _number(float(value))
    if isinstance(value, np.float32):
        return "" if np.isnan(value) else np.format_float_positional(value, unique=True, trim="-")
    value = float(value)
    if value != value:
        return ""
    return str(int(value)) if value.is_integer() else repr(value)


@dataclass
class DatasetCounts:
    series: int = 0
    target_rows: int = 0
    related_rows: int = 0
    first_day: str | None = None
    last_day: str | None = None  # of the target
    related_last_day: str | None = None


def record_rows(record: Mapping, encoding: CategoryEncoding) -> tuple[list[str], list[str], str]:
    """One inference record as the three files' CSV lines (no newline): target rows, related rows, item row."""
    store, family, store_type, cluster = (int(c) for c in record["cat"])
    item = record_item(record, encoding)
    start = pd.Timestamp(record["start"])
    target = list(record["target"])
    features = [list(row) for row in record["dynamic_feat"]]
    days = pd.date_range(start, periods=len(features[0]), freq="D").strftime("%Y-%m-%d")
    target_rows = [f"{item},{days[i]},{_number(v)}" for i, v in enumerate(target)]
    related_rows = [
        f"{item},{day}," + ",".join(_number(row[i]) or "0" for row in features) for i, day in enumerate(days)
    ]
    item_row = ",".join(
        [
            item,
            str(encoding.store_nbr[store]),
            plain(encoding.family[family]),
            plain(encoding.store_type[store_type]),
            str(encoding.cluster[cluster]),
        ]
    )
    return target_rows, related_rows, item_row


def write_dataset_files(
    records: Iterable[Mapping], encoding: CategoryEncoding, folder: str | Path, prediction_length: int
) -> tuple[dict[str, Path], DatasetCounts]:
    """Stream inference records to ``folder``/{target,related,items}.csv, series by series (bounded memory); checks
    that every record's features reach ``prediction_length`` days past its target, as Forecast requires."""
    check_item_ids(encoding)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in DATASETS}
    counts = DatasetCounts()
    with contextlib.ExitStack() as stack:
        handles = {
            name: stack.enter_context(open(path, "w", encoding="utf-8", newline="")) for name, path in paths.items()
        }
        for record in records:
            reach = len(record["dynamic_feat"][0]) - len(record["target"])
            if reach != prediction_length:
                raise ForecastFormatError(
                    f"series {record['cat']}: its features reach {reach} days past the target, "
                    f"not the horizon's {prediction_length}: rebuild deepar_training_data"
                )
            target_rows, related_rows, item_row = record_rows(record, encoding)
            handles["target"].write("\n".join(target_rows) + "\n")
            handles["related"].write("\n".join(related_rows) + "\n")
            handles["items"].write(item_row + "\n")
            counts.series += 1
            counts.target_rows += len(target_rows)
            counts.related_rows += len(related_rows)
            first, last = target_rows[0].split(",")[1], target_rows[-1].split(",")[1]
            counts.first_day = min(counts.first_day or first, first)
            counts.last_day = max(counts.last_day or last, last)
            related_last = related_rows[-1].split(",")[1]
            counts.related_last_day = max(counts.related_last_day or related_last, related_last)
    return paths, counts


def forecast_record(test: Mapping, inference: Mapping) -> dict:
    """One series' record for Forecast: the inference record with the test record's features over the history (what
    was known ahead over the backtest windows) and its own over the horizon only."""
    if list(test["cat"]) != list(inference["cat"]) or test["start"] != inference["start"]:
        raise ForecastFormatError(
            f"the test and inference channels are not in the same series order (series {list(test['cat'])} beside "
            f"{list(inference['cat'])}): rebuild deepar_training_data"
        )
    n = len(test["target"])
    if len(inference["target"]) != n or any(len(row) != n for row in test["dynamic_feat"]):
        raise ForecastFormatError(
            f"series {list(test['cat'])}: its test record does not cover the inference record's history: "
            "rebuild deepar_training_data"
        )
    features = [
        list(known) + list(row)[n:] for known, row in zip(test["dynamic_feat"], inference["dynamic_feat"], strict=True)
    ]
    return {**inference, "dynamic_feat": features}


def write_datasets_from_channel(
    test_paths: Iterable[str | Path],
    inference_paths: Iterable[str | Path],
    encoding: Mapping | CategoryEncoding,
    folder: str | Path,
    prediction_length: int,
) -> tuple[dict[str, Path], dict]:
    """The three dataset files from the test and inference channels' files (each in order, one record per series in
    the same order), read line by line; returns the files and what the summary records of them (series, rows, first
    and last day)."""
    if not isinstance(encoding, CategoryEncoding):
        encoding = CategoryEncoding.from_dict(dict(encoding))
    tests = (record for path in test_paths for record in iter_json_lines_file(path))
    inferences = (record for path in inference_paths for record in iter_json_lines_file(path))
    records = (forecast_record(t, i) for t, i in zip_records(tests, inferences))
    files, counts = write_dataset_files(records, encoding, folder, prediction_length)
    return files, asdict(counts)


def zip_records(tests: Iterable[Mapping], inferences: Iterable[Mapping]) -> Iterable[tuple[Mapping, Mapping]]:
    """Pairs of the two channels' records; a channel with more series than the other is refused."""
    missing = object()
    tests, inferences = iter(tests), iter(inferences)
    while True:
        test, inference = next(tests, missing), next(inferences, missing)
        if test is missing and inference is missing:
            return
        if test is missing or inference is missing:
            raise ForecastFormatError(
                "the test and inference channels hold different numbers of series: rebuild deepar_training_data"
            )
        yield cast(Mapping, test), cast(Mapping, inference)


# --- exports -------------------------------------------------------------------------------------------------------

QUANTILE_COLUMNS = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


def read_export(parts: Iterable[tuple[str, bytes]], backtest: bool) -> pd.DataFrame:
    """An export job's CSV parts (name, bytes) as one table: ``item_id, date, window_start`` (backtest only), mean,
    p10, p50, p90 (floats, clipped at 0 as every backend's forecasts are).

    A forecast export's header is ``item_id,date,p10,p50,p90,mean``; a backtest export's forecasted-values files are
    ``item_id,timestamp,target_value,backtestwindow_start_time,backtestwindow_end_time,p10,p50,p90,mean``. Dates come
    as ``2017-08-16T00:00:00Z`` (or without the zone); columns are found by name, so their order does not matter."""
    frames = []
    for name, data in parts:
        if not data.strip():
            continue
        frame = pd.read_csv(io.BytesIO(data), dtype={"item_id": str})
        date_column = "timestamp" if backtest else "date"
        needed = {"item_id", date_column, "mean", *QUANTILE_COLUMNS} | (
            {"backtestwindow_start_time"} if backtest else set()
        )
        missing = sorted(needed - set(frame.columns))
        if missing:
            raise ForecastFormatError(
                f"{name}: the export has no column {', '.join(missing)} (columns: "
                f"{', '.join(frame.columns)}); the predictor must forecast "
                f"{', '.join(FORECAST_TYPES)}"
            )
        out = pd.DataFrame({"item_id": frame["item_id"], "date": _days(frame[date_column], name, date_column)})
        if backtest:
            out["window_start"] = _days(frame["backtestwindow_start_time"], name, "backtestwindow_start_time")
        for column in ("mean", *QUANTILE_COLUMNS):
            values = pd.to_numeric(frame[column], errors="coerce")
            if values.isna().any():
                row = int(np.flatnonzero(values.isna().to_numpy())[0])
                raise ForecastFormatError(
                    f"{name}, line {row + 2}, column {column}: {frame[column].iloc[row]!r} is not a number"
                )
            out[column] = np.clip(values.to_numpy(dtype=np.float64), 0, None)
        frames.append(out)
    if not frames:
        raise ForecastFormatError("the export holds no forecasts (no CSV part, or only empty ones)")
    table = pd.concat(frames, ignore_index=True)
    key = ["item_id", "date"] + (["window_start"] if backtest else [])
    duplicated = table.duplicated(key)
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise ForecastFormatError(f"the export holds {first['item_id']} on {first['date']:%Y-%m-%d} twice")
    return table.sort_values(key, kind="stable").reset_index(drop=True)


def _days(column: pd.Series, name: str, label: str) -> pd.Series:
    days = pd.to_datetime(column.astype(str).str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    if days.isna().any():
        row = int(np.flatnonzero(days.isna().to_numpy())[0])
        raise ForecastFormatError(f"{name}, line {row + 2}, column {label}: {column.iloc[row]!r} is not a date")
    return days


def forecasts_for(
    table: pd.DataFrame,
    requests: Iterable[tuple[str, pd.Timestamp]],
    horizon: int,
    quantiles: Iterable[float],
    what: str,
) -> list[dict]:
    """Per request (item_id, first forecast day) the export's ``horizon`` days as ``{"mean": array, q: array}``, in
    request order. A backtest table is matched on its window's first day too. Raises ForecastFormatError, naming
    what is missing, when the export lacks a series or a day."""
    quantiles = tuple(quantiles)
    columns = {q: name for name, q in QUANTILE_COLUMNS.items()}
    unknown = [q for q in quantiles if q not in columns]
    if unknown:
        raise ForecastFormatError(f"Amazon Forecast exports the quantiles 0.1, 0.5 and 0.9; {unknown} were asked for")
    backtest = "window_start" in table.columns
    key = ["item_id", "window_start"] if backtest else ["item_id"]
    groups = {k if isinstance(k, tuple) else (k,): frame for k, frame in table.groupby(key, sort=False)}
    out = []
    for item, first_day in requests:
        first_day = pd.Timestamp(first_day)
        frame = groups.get((item, first_day) if backtest else (item,))
        if frame is None:
            starts = sorted({f"{d:%Y-%m-%d}" for d in table["window_start"]}) if backtest else []
            raise ForecastFormatError(
                f"the {what} holds no forecast of {item}"
                + (
                    f" for the window starting {first_day:%Y-%m-%d} (its windows start {', '.join(starts)})"
                    if backtest
                    else ""
                )
            )
        days = pd.date_range(first_day, periods=horizon, freq="D")
        frame = frame.set_index("date").reindex(days)
        if frame["mean"].isna().any():
            gap = days[np.flatnonzero(frame["mean"].isna().to_numpy())[0]]
            raise ForecastFormatError(
                f"the {what} has no forecast of {item} on {gap:%Y-%m-%d}: it covers fewer days "
                f"than the horizon of {horizon}"
            )
        row: dict[str | float, np.ndarray] = {"mean": frame["mean"].to_numpy(dtype=np.float64)}
        for q in quantiles:
            row[q] = frame[columns[q]].to_numpy(dtype=np.float64)
        out.append(row)
    return out


def first_forecast_day(record: Mapping) -> pd.Timestamp:
    """The day after a record's target: where its forecast starts."""
    return pd.Timestamp(record["start"]).normalize() + pd.Timedelta(days=len(record["target"]))


def record_item(record: Mapping, encoding: CategoryEncoding) -> str:
    store, family = int(record["cat"][0]), int(record["cat"][1])
    return item_id(encoding.store_nbr[store], encoding.family[family])


__all__ = [
    "DATASETS",
    "DATASET_TYPES",
    "FORECAST_TYPES",
    "SCHEMAS",
    "TIMESTAMP_FORMAT",
    "ForecastFormatError",
    "check_item_ids",
    "first_forecast_day",
    "forecasts_for",
    "item_id",
    "read_export",
    "record_item",
    "record_rows",
    "write_dataset_files",
    "forecast_record",
    "write_datasets_from_channel",
]
