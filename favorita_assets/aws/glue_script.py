"""AWS Glue job: the landed raw Kaggle tables -> ``cleaned_series`` Parquet parts (``--task clean``), and the cleaned
series -> a cut-off's DeepAR channels (``--task channels``), with the same pure code as the local backend
(``favorita_assets.core``, shipped to Glue as ``--extra-py-files favorita_core.zip``).

Launched by dagster-aws ``PipesGlueClient``: the Dagster context arrives through S3 (``--dagster-pipes-context``), and
row counts, the sales reconciliation check and logs go back through S3 (``--dagster-pipes-messages``).

Job arguments (Glue passes ``--name value`` pairs; unknown ones, such as ``--JOB_NAME``, are ignored):

- ``--task``: ``clean`` (default) or ``channels``;
- ``--engine``: ``spark`` (default; the work per series through ``groupBy(store_nbr, family).applyInPandas``, the
  small tables broadcast, so it spreads over the Glue workers) or ``pandas`` (the whole table in one process, as the
  local backend does: for a Glue Python shell job or a small data set);
- ``--output_uri``: where to write (s3:// or a path).

``clean``: ``--train_uri``, ``--stores_uri``, ``--oil_uri``, ``--holidays_events_uri`` (the landed CSVs); the Parquet
parts go under ``--output_uri`` (the version prefix).

``channels``: ``--cleaned_uri`` (the cleaned series' version prefix; ``--cleaned_engine``, the engine that wrote it),
``--stores_uri``, ``--holidays_events_uri``, ``--test_uri`` (optional), ``--cutoff`` (YYYY-MM-DD),
``--prediction_length``, ``--backtest_windows``, ``--forecast_datasets`` (``true``: also Amazon Forecast's three CSVs,
from the inference channel, to ``<output_uri>/forecast/{target,related,items}/part-00000.csv``). The channels go to
``<output_uri>/{train,test,inference}/part-NNNNN.json`` (their bytes in name order are the local backend's
``data.json``), and what the manifest needs to
``<output_uri>/_glue_channels.json``.

Input the job refuses (a FavoritaDataError) is written to ``<output_uri>/_ERROR.json``, so Dagster can show the
same plain message as the local backend, and the job exits non-zero. This module imports neither dagster nor boto3
at the top: the pure core and dagster-pipes are what Glue needs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from favorita_assets.core.challengers import (
    ROW_COLUMNS,
    SCOPES,
    forecast_group,
    forecast_rows,
    partition_plan,
    run_challengers,
)
from favorita_assets.core.channels import (
    CHANNEL_COLUMNS,
    DAY_COLUMNS,
    PROMOTION_COLUMNS,
    SERIES_COLUMNS,
    ChannelDigests,
    build_channel_files,
    channel_summary,
    file_chunks,
    horizon_of,
    prepare_channels,
)
from favorita_assets.core.cleaning import (
    CATEGORICAL_COLUMNS,
    CLEANED_COLUMNS,
    CLEANING_INPUTS,
    calendar_gap_check,
    clean_and_reconcile,
    clean_series,
    find_store_closures,
    normalize_cleaned,
    sales_reconciliation,
)
from favorita_assets.core.deepar_format import (
    CHANNEL_NAMES,
    LikelihoodTally,
    compact_record,
    encode_series,
    read_json_lines,
    series_lines,
)
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.evaluation import problems_from_records
from favorita_assets.core.forecast_format import write_datasets_from_channel
from favorita_assets.core.schema import ensure_valid, read_kaggle_csv

ENGINES = ("spark", "pandas")
TASKS = ("clean", "channels", "challengers")
ERROR_FILE = "_ERROR.json"
CHECK_NAME = "sales_reconcile"
CHANNELS_SUMMARY = "_glue_channels.json"
CHALLENGERS_SUMMARY = "_glue_challengers.json"
CHALLENGERS_FORECASTS = "forecasts"  # <output_uri>/forecasts/: the per-series forecasts, Parquet
STAGING = "_staging"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=TASKS, default="clean")
    parser.add_argument("--output_uri", required=True)
    parser.add_argument("--engine", choices=ENGINES, default="spark")
    args, _unknown = parser.parse_known_args(argv)
    more = argparse.ArgumentParser(description=f"--task {args.task}")
    if args.task == "clean":
        for table in CLEANING_INPUTS:
            more.add_argument(f"--{table}_uri", required=True)
    elif args.task == "challengers":
        more.add_argument("--channels_uri", required=True)
        more.add_argument("--candidates", required=True)
        more.add_argument("--seed", default=0, type=int)
        more.add_argument("--global_models_by", choices=SCOPES, default="chain")
        more.add_argument("--series_per_task", default=500, type=int)
    else:
        more.add_argument("--cleaned_uri", required=True)
        more.add_argument("--cleaned_engine", default="")
        more.add_argument("--stores_uri", required=True)
        more.add_argument("--holidays_events_uri", required=True)
        more.add_argument("--test_uri", default="")
        more.add_argument("--cutoff", required=True, type=pd.Timestamp)
        more.add_argument("--prediction_length", required=True, type=int)
        more.add_argument("--backtest_windows", default=1, type=int)
        more.add_argument("--forecast_datasets", default="false", choices=("true", "false"))
    extra, _unknown = more.parse_known_args(argv)
    vars(args).update(vars(extra))
    args.output_uri = args.output_uri.rstrip("/")
    if args.task == "channels":
        args.cleaned_uri = args.cleaned_uri.rstrip("/")
    if args.task == "challengers":
        args.channels_uri = args.channels_uri.rstrip("/")
        args.candidates = [c for c in args.candidates.split(",") if c]
    return args


def s3_client():
    """boto3 S3 client with retries and timeouts; ``AWS_ENDPOINT_URL`` (set in tests) points it at an emulator."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "total_max_attempts": 8}, connect_timeout=10, read_timeout=120)
    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, config=config)


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


class Files:
    """Reads and writes s3:// URIs (through boto3) and local paths alike."""

    def __init__(self) -> None:
        self._s3 = None

    @property
    def s3(self):
        if self._s3 is None:
            self._s3 = s3_client()
        return self._s3

    def read_table(self, uri: str, table: str) -> pd.DataFrame:
        if not uri.startswith("s3://"):
            return read_kaggle_csv(Path(uri), table)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(_split(uri)[1]).name
            self.s3.download_file(*_split(uri), str(path))
            return read_kaggle_csv(path, table)

    def write_bytes(self, uri: str, data: bytes) -> None:
        if uri.startswith("s3://"):
            self.s3.put_object(Bucket=_split(uri)[0], Key=_split(uri)[1], Body=data)
        else:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            Path(uri).write_bytes(data)

    def parquet_parts(self, prefix: str) -> list[str]:
        return [uri for uri in self.list(prefix) if uri.endswith(".parquet")]

    def list(self, prefix: str) -> list[str]:
        """Every object (file) under ``prefix/``, sorted."""
        if not prefix.startswith("s3://"):
            return sorted(str(p) for p in Path(prefix).rglob("*") if p.is_file())
        bucket, key = _split(prefix)
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key + "/")
        return sorted(f"s3://{bucket}/{o['Key']}" for page in pages for o in page.get("Contents", []))

    def chunks(self, uri: str, size: int = 1 << 22) -> Iterator[bytes]:
        if not uri.startswith("s3://"):
            yield from file_chunks(uri, size)
            return
        body = self.s3.get_object(Bucket=_split(uri)[0], Key=_split(uri)[1])["Body"]
        yield from body.iter_chunks(size)

    def size(self, uri: str) -> int:
        if not uri.startswith("s3://"):
            return Path(uri).stat().st_size
        return int(self.s3.head_object(Bucket=_split(uri)[0], Key=_split(uri)[1])["ContentLength"])

    def download(self, uri: str, path: Path) -> Path:
        if uri.startswith("s3://"):
            self.s3.download_file(*_split(uri), str(path))
        else:
            shutil.copyfile(uri, path)
        return path

    def copy(self, source: str, target: str) -> None:
        """Copy a file (a local path or s3:// URI) to ``target``: an upload, a server-side copy or a file copy."""
        if target.startswith("s3://"):
            if source.startswith("s3://"):
                self.s3.copy({"Bucket": _split(source)[0], "Key": _split(source)[1]}, *_split(target))
            else:
                self.s3.upload_file(source, *_split(target))
            return
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        if source.startswith("s3://"):
            self.download(source, Path(target))
        else:
            shutil.copyfile(source, target)

    def delete(self, uri: str) -> None:
        if uri.startswith("s3://"):
            self.s3.delete_object(Bucket=_split(uri)[0], Key=_split(uri)[1])
        else:
            Path(uri).unlink(missing_ok=True)

    def read_json(self, uri: str):
        return json.loads(b"".join(self.chunks(uri)))


def clean_with_pandas(files: Files, args: argparse.Namespace) -> dict[str, Any]:
    """The whole table in this process: exactly what the local backend runs."""
    frames = {table: files.read_table(getattr(args, f"{table}_uri"), table) for table in CLEANING_INPUTS}
    cleaned, stats, reconciliation = clean_and_reconcile(frames)
    buffer = io.BytesIO()
    cleaned.to_parquet(buffer, index=False)
    files.write_bytes(f"{args.output_uri}/part-00000.parquet", buffer.getvalue())
    return {"stats": stats, "reconciliation": reconciliation}


def spark_output_schema():
    from pyspark.sql import types as T

    kinds = {
        "date": T.DateType(),
        "store_nbr": T.LongType(),
        "family": T.StringType(),
        "sales": T.DoubleType(),
        "onpromotion": T.LongType(),
        "is_missing_row": T.BooleanType(),
        "store_closed": T.BooleanType(),
        "dcoilwtico": T.DoubleType(),
        "holiday_national": T.BooleanType(),
        "holiday_regional": T.BooleanType(),
        "holiday_local": T.BooleanType(),
        "is_holiday": T.BooleanType(),
        "is_event": T.BooleanType(),
        "day_of_week": T.ByteType(),
        "is_payday": T.BooleanType(),
        "city": T.StringType(),
        "state": T.StringType(),
        "store_type": T.StringType(),
        "cluster": T.LongType(),
    }
    return T.StructType([T.StructField(name, kinds[name], nullable=False) for name in CLEANED_COLUMNS])


TRAIN_SCHEMA = "id LONG, date DATE, store_nbr LONG, family STRING, sales DOUBLE, onpromotion LONG"


def clean_with_spark(spark, train_uri: str, small: dict[str, pd.DataFrame], output_uri: str) -> dict[str, Any]:
    """Clean train.csv through Spark: store closures and the calendar check need every family of a store, so the
    driver computes them from per-store daily totals (54 stores x ~1,700 days, small) and broadcasts them with the
    small tables; each (store_nbr, family) series is then cleaned by :func:`clean_series` on the executors."""
    from pyspark.sql import functions as F

    stores, oil, holidays = small["stores"], small["oil"], small["holidays_events"]
    ensure_valid("stores", stores)
    ensure_valid("oil", oil)
    ensure_valid("holidays_events", holidays)
    train = spark.read.csv(train_uri, header=True, schema=TRAIN_SCHEMA, mode="FAILFAST")
    # Each row's position in the file (zipWithIndex follows the file's order), so an error inside one series names
    # the same line as the local engine: the row's index is set back from it before cleaning.
    train = spark.createDataFrame(
        train.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1])), schema=f"{TRAIN_SCHEMA}, row LONG"
    )
    totals = train.groupBy("store_nbr", "date").agg(F.sum("sales").alias("sales")).toPandas()
    if totals.empty:
        raise FavoritaDataError(
            "train.csv", "no sales rows to clean", fix="supply train.csv with at least one row per series"
        )
    totals["date"] = pd.to_datetime(totals["date"])
    calendar_gap_check(totals["date"].drop_duplicates())
    unknown = sorted(set(totals["store_nbr"]) - set(stores["store_nbr"]))
    if unknown:
        raise FavoritaDataError(
            "train.csv",
            "stores.csv does not list this store",
            column="store_nbr",
            value=str(unknown[0]),
            fix="add the store to stores.csv, or drop its rows from train.csv",
        )
    last_date = totals["date"].max()
    closures = find_store_closures(totals, last_date)
    shared = spark.sparkContext.broadcast((stores, oil, holidays, closures, last_date))

    def clean_one_series(rows: pd.DataFrame) -> pd.DataFrame:
        stores_b, oil_b, holidays_b, closures_b, last_b = shared.value
        rows = rows.assign(date=pd.to_datetime(rows["date"]))
        rows.index = rows.pop("row").to_numpy()
        store = rows["store_nbr"].iat[0]
        out = clean_series(
            rows, stores_b, oil_b, holidays_b, last_date=last_b, closures=closures_b[closures_b["store_nbr"] == store]
        )
        out["date"] = out["date"].dt.date
        for column in CATEGORICAL_COLUMNS:
            out[column] = out[column].astype(str)
        return out

    cleaned = train.groupBy("store_nbr", "family").applyInPandas(clean_one_series, schema=spark_output_schema())
    cleaned.write.mode("overwrite").parquet(output_uri)
    written = spark.read.parquet(output_uri)
    row = written.agg(
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct("store_nbr", "family").alias("series"),
        F.countDistinct("store_nbr").alias("stores"),
        F.countDistinct("family").alias("families"),
        F.min("date").alias("first_date"),
        F.max("date").alias("last_date"),
        F.sum(F.col("is_missing_row").cast("long")).alias("missing_rows_filled"),
        F.sum(F.col("store_closed").cast("long")).alias("store_closed_rows"),
        F.sum("sales").alias("total_sales"),
    ).collect()[0]
    stats = {k: (v.strftime("%Y-%m-%d") if k.endswith("_date") else v) for k, v in row.asDict().items()}
    stats = {k: (float(v) if k == "total_sales" else v if isinstance(v, str) else int(v)) for k, v in stats.items()}
    return {"stats": stats, "reconciliation": sales_reconciliation(float(totals["sales"].sum()), stats["total_sales"])}


# --- task channels -------------------------------------------------------------------------------------------


def read_small_tables(files: Files, args: argparse.Namespace) -> dict[str, pd.DataFrame | None]:
    tables = {t: files.read_table(getattr(args, f"{t}_uri"), t) for t in ("stores", "holidays_events")}
    tables["test"] = files.read_table(args.test_uri, "test") if args.test_uri else None
    return tables


def channels_with_pandas(files: Files, args: argparse.Namespace, small: dict, folder: Path) -> tuple[dict, dict]:
    """The whole build in this process (the local backend's code): the summary and each channel's one file."""
    parts = files.parquet_parts(args.cleaned_uri)
    if not parts:
        raise FileNotFoundError(f"no Parquet part under {args.cleaned_uri}: materialize cleaned_series")
    frames = [
        pd.read_parquet(files.download(uri, folder / f"cleaned-{i:05d}.parquet"), columns=CHANNEL_COLUMNS)
        for i, uri in enumerate(parts)
    ]
    cleaned = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    del frames
    if args.cleaned_engine == "spark" or len(parts) > 1:
        cleaned = normalize_cleaned(cleaned)
    summary = build_channel_files(
        cleaned,
        small["test"],
        small["stores"],
        small["holidays_events"],
        args.cutoff,
        args.prediction_length,
        args.backtest_windows,
        folder / "channels",
    )
    return summary, {name: summary["files"][name] for name in CHANNEL_NAMES}


ENCODED_SCHEMA = "store_nbr LONG, family STRING, train STRING, test STRING, inference STRING, small LONG, observed LONG"


def read_cleaned_with_spark(spark, uri: str):
    """The cleaned series' channel columns with ``date`` as a DATE, whichever engine wrote the parts: Spark writes
    dates, pandas nanosecond timestamps (read as longs: Spark has no nanosecond type)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    frame = spark.read.parquet(uri).select(*CHANNEL_COLUMNS)
    kind = frame.schema["date"].dataType
    if isinstance(kind, T.LongType):
        day = F.date_from_unix_date(F.floor(F.col("date") / F.lit(86_400 * 10**9)).cast("int"))
    else:
        day = F.to_date(F.col("date"))
    return frame.withColumn("date", day)


def channels_with_spark(spark, files: Files, args: argparse.Namespace, small: dict) -> tuple[dict, dict]:
    """The build on Spark: the small tables from Spark aggregates on the driver (one row per store and day, one per
    series, the horizon's rows), :func:`prepare_channels` there, then each series encoded on the executors by
    :func:`encode_series` and the lines written in (store_nbr, family) order as ordered part files (a range-partitioned
    sort: part i holds the i-th range). Returns the summary and each channel's staged parts, in order."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    cutoff, h = pd.Timestamp(args.cutoff), args.prediction_length
    horizon = horizon_of(cutoff, h)
    cleaned = read_cleaned_with_spark(spark, args.cleaned_uri)
    history = cleaned.where(F.col("date") <= F.lit(cutoff.date()))

    def collect(frame, date_column: bool = True) -> pd.DataFrame:
        out = frame.toPandas()
        if date_column:
            out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
        return out

    days = collect(history.select(*DAY_COLUMNS).distinct())
    series = collect(history.select(*SERIES_COLUMNS).distinct(), date_column=False)
    in_horizon = [d.date() for d in horizon]
    horizon_rows = collect(cleaned.where(F.col("date").isin(in_horizon)).select(*PROMOTION_COLUMNS))
    inputs = prepare_channels(
        days,
        series,
        horizon_rows,
        small["test"],
        small["stores"],
        small["holidays_events"],
        cutoff,
        h,
        args.backtest_windows,
    )
    plan = spark.sparkContext.broadcast(inputs.plan)

    def encode(rows: pd.DataFrame) -> pd.DataFrame:
        rows = rows.assign(date=pd.to_datetime(rows["date"]).astype("datetime64[ns]"))
        rows = rows.sort_values("date", kind="stable").reset_index(drop=True)
        out: dict[str, list] = {c: [] for c in ("store_nbr", "family", *CHANNEL_NAMES, "small", "observed")}
        for one in encode_series(rows, plan.value):
            lines = series_lines(one)
            small_count, observed = LikelihoodTally.counts(one.train) if one.train is not None else (0, 0)
            out["store_nbr"].append(one.store_nbr)
            out["family"].append(one.family)
            for name in CHANNEL_NAMES:
                out[name].append(None if lines[name] is None else lines[name][:-1].decode())
            out["small"].append(small_count)
            out["observed"].append(observed)
        return pd.DataFrame(out)

    encoded = (
        history.groupBy("store_nbr", "family")
        .applyInPandas(encode, schema=ENCODED_SCHEMA)
        .orderBy("store_nbr", "family")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    staging = f"{args.output_uri}/{STAGING}/{uuid.uuid4().hex}"
    staged = {}
    for name in CHANNEL_NAMES:
        (
            encoded.where(F.col(name).isNotNull())
            .select(name)
            .write.mode("overwrite")
            .option("compression", "none")
            .option("lineSep", "\n")
            .text(f"{staging}/{name}")
        )
        staged[name] = [u for u in files.list(f"{staging}/{name}") if u.rsplit("/", 1)[-1].startswith("part-")]
    meta = encoded.select(
        "store_nbr", "family", F.col("train").isNotNull().alias("has_train"), "small", "observed"
    ).toPandas()
    encoded.unpersist()
    likelihood, share = LikelihoodTally.from_counts(int(meta["small"].sum()), int(meta["observed"].sum())).result()
    digests = ChannelDigests()
    for name in CHANNEL_NAMES:
        digests.add(name, (chunk for uri in staged[name] for chunk in files.chunks(uri)))
    counts = {"train": int(meta["has_train"].sum()), "test": len(meta), "inference": len(meta)}
    sizes = {name: sum(files.size(u) for u in staged[name]) for name in CHANNEL_NAMES}
    summary = channel_summary(inputs, counts, sizes, meta[["store_nbr", "family"]], digests, likelihood, share, staged)
    return summary, staged


def publish_channels(files: Files, staged: dict[str, list[str]], output_uri: str) -> dict[str, list[str]]:
    """Each channel's files, in order, as ``<output_uri>/<channel>/part-NNNNN.json`` (SageMaker reads the folder;
    the readers of this platform read the parts in name order). Files left there by an earlier build are removed;
    an empty channel is one empty part."""
    published = {}
    for name in CHANNEL_NAMES:
        folder = f"{output_uri}/{name}"
        targets = [f"{folder}/part-{i:05d}.json" for i in range(max(1, len(staged[name])))]
        if staged[name]:
            for source, target in zip(staged[name], targets, strict=True):
                files.copy(source, target)
        else:
            files.write_bytes(targets[0], b"")
        for stale in sorted(set(files.list(folder)) - set(targets)):
            files.delete(stale)
        published[name] = targets
    return published


def publish_forecast_datasets(
    files: Files, test: list[str], inference: list[str], encoding: dict, args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    """Amazon Forecast's target, related and item metadata CSVs, streamed from the published test and inference
    parts on the driver (one line at a time: the history's features from the test channel, the horizon's from the
    inference channel), to ``<output_uri>/forecast/<dataset>/part-00000.csv``."""
    local_test = [files.download(uri, folder / f"test-{i:05d}.json") for i, uri in enumerate(test)]
    local = [files.download(uri, folder / f"inference-{i:05d}.json") for i, uri in enumerate(inference)]
    written, counts = write_datasets_from_channel(
        local_test, local, encoding, folder / "forecast", args.prediction_length
    )
    out = {}
    for name, path in written.items():
        target = f"{args.output_uri}/forecast/{name}/part-00000.csv"
        files.copy(str(path), target)
        for stale in sorted(set(files.list(f"{args.output_uri}/forecast/{name}")) - {target}):
            files.delete(stale)
        out[name] = [target]
    return {"files": out, **counts}


def build_channels_job(args: argparse.Namespace, files: Files) -> dict[str, Any]:
    small = read_small_tables(files, args)
    with tempfile.TemporaryDirectory(prefix="favorita-channels-") as folder:
        if args.engine == "pandas":
            summary, staged = channels_with_pandas(files, args, small, Path(folder))
        else:
            summary, staged = channels_with_spark(spark_session(), files, args, small)
        published = publish_channels(files, staged, args.output_uri)
        if args.forecast_datasets == "true":
            summary["forecast_datasets"] = publish_forecast_datasets(
                files, published["test"], published["inference"], summary["encoding"], args, Path(folder)
            )
    if args.output_uri.startswith("s3://"):
        for leftover in files.list(f"{args.output_uri}/{STAGING}"):
            files.delete(leftover)
    else:
        shutil.rmtree(f"{args.output_uri}/{STAGING}", ignore_errors=True)
    summary = {**summary, "files": published}
    files.write_bytes(f"{args.output_uri}/{CHANNELS_SUMMARY}", json.dumps(summary).encode())
    return summary


# --- task challengers -----------------------------------------------------------------------------------------


def channel_files(files: Files, channels_uri: str, channel: str) -> list[str]:
    """A channel's data files in order (``data.json`` locally, ordered ``part-NNNNN.json`` from Glue), as
    resources/channels.py's channel_keys lists them: names starting with ``_`` or ``.`` are not data."""
    found = [u for u in files.list(f"{channels_uri}/{channel}") if not u.rsplit("/", 1)[-1].startswith(("_", "."))]
    if not found:
        raise FileNotFoundError(f"no {channel} channel under {channels_uri}: materialize deepar_training_data")
    return found


def chain_problems_days(manifest: dict, first_start: str) -> int:
    """The width of the chain's history matrices: every test record's target ends on the cut-off, so the longest
    is the one starting first."""
    return int((pd.Timestamp(manifest["cutoff"]) - pd.Timestamp(first_start).normalize()).days) + 1


def challengers_with_pandas(files: Files, args: argparse.Namespace, manifest: dict) -> tuple[pd.DataFrame, dict]:
    """Every partition in this process (the local backend's code), for a Glue Python shell job or a small chain:
    the rows and each candidate's (error, seconds)."""
    h, k = manifest["prediction_length"], int(manifest.get("backtest_windows", 1))

    def records(channel: str) -> list[dict]:
        return [
            compact_record(r)
            for uri in channel_files(files, args.channels_uri, channel)
            for r in read_json_lines(b"".join(files.chunks(uri)))
        ]

    test, inference = records("test"), records("inference")
    problems = problems_from_records(test, inference, h, k, manifest["cutoff"])
    families = pd.DataFrame(manifest["series"])["family"].astype(str).to_numpy()
    runs = run_challengers(problems, families, args.candidates, args.seed, args.global_models_by, args.series_per_task)
    status = {name: (runs.failed.get(name), runs.seconds.get(name, 0.0)) for name in args.candidates}
    return forecast_rows(np.arange(len(test)), runs), status


PARTITION_SCHEMA = "series LONG, candidate STRING, window INT, mean ARRAY<DOUBLE>, error STRING, seconds DOUBLE"
PARTITION_COLUMNS = (*ROW_COLUMNS, "error", "seconds")


def numbered_lines(spark, files: Files, uris: list[str], column: str):
    """(series, ``column``): each line of the files ``uris``, read on the executors, numbered in file order (the
    channel's series order): each file's lines counted, then offset by the lines of the files before it."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    def read(item):
        index, uri = item
        data = b"".join(Files().chunks(uri))
        return [(index, line, text.decode()) for line, text in enumerate(data.splitlines()) if text.strip()]

    rdd = spark.sparkContext.parallelize(list(enumerate(uris)), max(1, len(uris))).flatMap(read)
    lines = spark.createDataFrame(rdd, schema=f"part INT, line LONG, {column} STRING")
    lines = lines.persist(StorageLevel.MEMORY_AND_DISK)
    counts = lines.groupBy("part").count().toPandas().set_index("part")["count"]
    counts = counts.reindex(range(len(uris)), fill_value=0)
    offsets = pd.DataFrame({"part": range(len(uris)), "offset": (counts.cumsum() - counts).to_numpy()})
    offsets = spark.createDataFrame(offsets, schema="part INT, offset LONG")
    numbered = lines.join(F.broadcast(offsets), "part").select(
        (F.col("offset") + F.col("line")).alias("series"), column
    )
    return numbered, int(counts.sum())


def challengers_with_spark(spark, files: Files, args: argparse.Namespace, manifest: dict):
    """Every partition (:func:`partition_plan`) as a Spark task: the test and inference lines numbered in series
    order, joined to the partitions that hold their series, and ``groupBy(partition).applyInPandas`` running
    :func:`forecast_group` on each, one thread per task. Returns the rows (a Spark DataFrame, persisted) and each
    candidate's (error, seconds)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    h, k = manifest["prediction_length"], int(manifest.get("backtest_windows", 1))
    cutoff = pd.Timestamp(manifest["cutoff"])
    families = pd.DataFrame(manifest["series"])["family"].astype(str).to_numpy()
    plan = partition_plan(families, args.candidates, args.global_models_by, args.series_per_task)
    # One shuffle partition per partition of the series, never merged: adaptive execution would coalesce them by
    # their bytes (a few MB of JSON) into one task, while their cost is the models' fitting, not their size.
    spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    spark.conf.set("spark.sql.shuffle.partitions", str(max(1, len(plan))))
    test, n = numbered_lines(spark, files, channel_files(files, args.channels_uri, "test"), "test")
    inference, n_inference = numbered_lines(
        spark, files, channel_files(files, args.channels_uri, "inference"), "inference"
    )
    if not n == n_inference == len(families):
        raise ValueError(
            f"{args.channels_uri}: {n} test and {n_inference} inference records for {len(families)} series in the "
            "manifest: materialize deepar_training_data again"
        )
    first = test.select(F.min(F.get_json_object("test", "$.start"))).collect()[0][0]
    days = chain_problems_days(manifest, first)
    members = pd.DataFrame(
        {
            "partition": np.concatenate([np.full(len(p.rows), i) for i, p in enumerate(plan)]).astype(np.int32),
            "series": np.concatenate([p.rows for p in plan]).astype(np.int64),
        }
    )
    shared = spark.sparkContext.broadcast(([(p.label, p.candidates) for p in plan], h, k, cutoff, days, args.seed))

    def run_partition(rows: pd.DataFrame) -> pd.DataFrame:
        labels, h_, k_, cutoff_, days_, seed = shared.value
        label, candidates = labels[int(rows["partition"].iat[0])]
        rows = rows.sort_values("series")

        def parse(column: str) -> list[dict]:
            return [compact_record(r) for r in read_json_lines("\n".join(rows[column]).encode())]

        problems = problems_from_records(parse("test"), parse("inference"), h_, k_, cutoff_, days=days_)
        runs = forecast_group(problems, candidates, seed, threads=1, label=label)
        out = {c: list(v) for c, v in forecast_rows(rows["series"].to_numpy(), runs).items()}
        out["error"], out["seconds"] = [None] * len(out["series"]), [None] * len(out["series"])
        for name in candidates:  # one status row per candidate: its error in this partition and its seconds
            for column, value in zip(
                PARTITION_COLUMNS, (-1, name, 0, None, runs.failed.get(name), runs.seconds.get(name, 0.0)), strict=True
            ):
                out[column].append(value)
        return pd.DataFrame(out, columns=list(PARTITION_COLUMNS))

    records = test.join(inference, "series")
    assigned = spark.createDataFrame(members, schema="partition INT, series LONG").join(records, "series")
    rows = (
        assigned.groupBy("partition")
        .applyInPandas(run_partition, schema=PARTITION_SCHEMA)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    statuses = rows.where(F.col("series") < 0).select("candidate", "error", "seconds").toPandas()
    status = {}
    for name, group in statuses.groupby("candidate", sort=False):
        errors = group["error"].dropna()
        status[str(name)] = (errors.iat[0] if len(errors) else None, float(group["seconds"].sum()))
    return rows.where(F.col("series") >= 0).select(*ROW_COLUMNS), status


def challengers_job(args: argparse.Namespace, files: Files) -> dict[str, Any]:
    """The challengers' forecasts for the cut-off whose channels are at ``--channels_uri``: Parquet under
    ``<output_uri>/forecasts/`` and a summary (each candidate's error and seconds, the parts) beside it."""
    manifest = files.read_json(f"{args.channels_uri}/manifest.json")
    folder = f"{args.output_uri}/{CHALLENGERS_FORECASTS}"
    for stale in files.list(folder):  # an earlier run's parts: only this run's may be read back
        files.delete(stale)
    if args.engine == "pandas":
        frame, status = challengers_with_pandas(files, args, manifest)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        files.write_bytes(f"{folder}/part-00000.parquet", buffer.getvalue())
    else:
        rows, status = challengers_with_spark(spark_session(), files, args, manifest)
        rows.write.mode("overwrite").parquet(folder)
    summary = {
        "series": len(pd.DataFrame(manifest["series"])),
        "failed": {name: error for name, (error, _) in status.items() if error},
        "seconds": {name: seconds for name, (_, seconds) in status.items()},
        "parts": files.parquet_parts(folder),
        "global_models_by": args.global_models_by,
    }
    files.write_bytes(f"{args.output_uri}/{CHALLENGERS_SUMMARY}", json.dumps(summary).encode())
    return summary


def spark_session():
    """Glue's Spark session inside Glue; a plain local one elsewhere (tests)."""
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from pyspark.context import SparkContext

        return GlueContext(SparkContext.getOrCreate()).spark_session
    except ImportError:
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers use this interpreter and its packages
        return SparkSession.builder.master("local[*]").appName("favorita-clean-series").getOrCreate()


def run(args: argparse.Namespace, files: Files) -> dict[str, Any]:
    if args.task == "channels":
        return build_channels_job(args, files)
    if args.task == "challengers":
        return challengers_job(args, files)
    if args.engine == "pandas":
        return clean_with_pandas(files, args)
    small = {t: files.read_table(getattr(args, f"{t}_uri"), t) for t in ("stores", "oil", "holidays_events")}
    return clean_with_spark(spark_session(), args.train_uri, small, args.output_uri)


def _pipes(files: Files):
    from dagster_pipes import PipesCliArgsParamsLoader, PipesS3ContextLoader, PipesS3MessageWriter, open_dagster_pipes

    return open_dagster_pipes(
        context_loader=PipesS3ContextLoader(client=files.s3),
        message_writer=PipesS3MessageWriter(client=files.s3, interval=2),
        params_loader=PipesCliArgsParamsLoader(),  # Glue passes the Pipes parameters as job arguments
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    files = Files()
    with _pipes(files) as pipes:
        pipes.log.info(f"task {args.task} with engine={args.engine} into {args.output_uri}")
        try:
            result = run(args, files)
        except Exception as error:  # refused input, or anything else: leave a readable reason, then fail the run
            data_error = _data_error(error)
            record = {
                "message": str(data_error) if data_error else f"{type(error).__name__}: {error}",
                "data_error": data_error.as_metadata() if data_error else None,
                "detail": None if data_error else traceback.format_exc()[-4000:],
            }
            files.write_bytes(f"{args.output_uri}/{ERROR_FILE}", json.dumps(record, default=str).encode())
            pipes.log.error(record["message"])
            return 1
        if args.task == "challengers":
            pipes.report_asset_materialization(
                metadata={"engine": args.engine, "parts": len(result["parts"]), "series": result["series"]}
            )
            failed = f"; failed: {', '.join(result['failed'])}" if result["failed"] else ""
            pipes.log.info(f"forecast {result['series']:,} series with {', '.join(args.candidates)}{failed}")
            return 0
        if args.task == "channels":
            counts = result["counts"]
            pipes.report_asset_materialization(
                metadata={
                    "engine": args.engine,
                    "fingerprint": result["fingerprint"],
                    "data_version": result["data_version"],
                    **{f"{name}_series": counts[name] for name in CHANNEL_NAMES},
                    **{f"{name}_parts": len(result["files"][name]) for name in CHANNEL_NAMES},
                }
            )
            pipes.log.info(
                f"wrote {counts['train']:,} train / {counts['test']:,} test / {counts['inference']:,} "
                f"inference records under {args.output_uri}"
            )
            return 0
        parts = files.parquet_parts(args.output_uri)
        stats, reconciliation = result["stats"], result["reconciliation"]
        pipes.report_asset_materialization(metadata={**stats, "engine": args.engine, "parts": len(parts)})
        pipes.report_asset_check(
            check_name=CHECK_NAME,
            passed=bool(reconciliation["passed"]),
            metadata={k: v for k, v in reconciliation.items() if k != "passed"},
        )
        pipes.log.info(f"wrote {stats['rows']:,} rows of {stats['series']:,} series in {len(parts)} part(s)")
    return 0


def _data_error(error: BaseException) -> FavoritaDataError | None:
    """The FavoritaDataError behind ``error``; Spark wraps an executor's exception in its own, keeping the text."""
    if isinstance(error, FavoritaDataError):
        return error
    text = str(error)
    marker = "FavoritaDataError: "
    if marker in text:
        return FavoritaDataError.parse(text[text.index(marker) + len(marker) :])
    return None


if __name__ == "__main__":
    sys.exit(main())
