"""AWS Glue job: the landed raw Kaggle tables -> ``cleaned_series`` Parquet parts, with the same pure cleaning code
as the local backend (``favorita_assets.core``, shipped to Glue as ``--extra-py-files favorita_core.zip``).

Launched by dagster-aws ``PipesGlueClient``: the Dagster context arrives through S3 (``--dagster-pipes-context``), and
row counts, the sales reconciliation check and logs go back through S3 (``--dagster-pipes-messages``).

Job arguments (Glue passes ``--name value`` pairs; unknown ones, such as ``--JOB_NAME``, are ignored):

- ``--train_uri``, ``--stores_uri``, ``--oil_uri``, ``--holidays_events_uri``: the landed CSVs (s3:// or a path);
- ``--output_uri``: the version prefix to write Parquet parts under;
- ``--engine``: ``spark`` (default; the per-series cleaning through ``groupBy(store_nbr, family).applyInPandas``, the
  small tables and the store closures broadcast, so the work spreads over the Glue workers) or ``pandas`` (the whole
  table in one process, as the local backend does: for a Glue Python shell job or a small data set).

Input the cleaning refuses (a FavoritaDataError) is written to ``<output_uri>/_ERROR.json``, so Dagster can show the
same plain message as the local backend, and the job exits non-zero. This module imports neither dagster nor boto3
at the top: the pure core and dagster-pipes are what Glue needs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import pandas as pd

from favorita_assets.core.cleaning import (
    CATEGORICAL_COLUMNS,
    CLEANED_COLUMNS,
    CLEANING_INPUTS,
    calendar_gap_check,
    clean_and_reconcile,
    clean_series,
    find_store_closures,
    sales_reconciliation,
)
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.schema import ensure_valid, read_kaggle_csv

ENGINES = ("spark", "pandas")
ERROR_FILE = "_ERROR.json"
CHECK_NAME = "sales_reconcile"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for table in CLEANING_INPUTS:
        parser.add_argument(f"--{table}_uri", required=True)
    parser.add_argument("--output_uri", required=True)
    parser.add_argument("--engine", choices=ENGINES, default="spark")
    args, _unknown = parser.parse_known_args(argv)
    args.output_uri = args.output_uri.rstrip("/")
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
        if not prefix.startswith("s3://"):
            return sorted(str(p) for p in Path(prefix).glob("*.parquet"))
        bucket, key = _split(prefix)
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key + "/")
        return sorted(f"s3://{bucket}/{o['Key']}" for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".parquet"))


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
        "date": T.DateType(), "store_nbr": T.LongType(), "family": T.StringType(), "sales": T.DoubleType(),
        "onpromotion": T.LongType(), "is_missing_row": T.BooleanType(), "store_closed": T.BooleanType(),
        "dcoilwtico": T.DoubleType(), "holiday_national": T.BooleanType(), "holiday_regional": T.BooleanType(),
        "holiday_local": T.BooleanType(), "is_holiday": T.BooleanType(), "is_event": T.BooleanType(),
        "day_of_week": T.ByteType(), "is_payday": T.BooleanType(), "city": T.StringType(), "state": T.StringType(),
        "store_type": T.StringType(), "cluster": T.LongType(),
    }  # fmt: skip
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
    train = spark.createDataFrame(train.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1])),
                                  schema=f"{TRAIN_SCHEMA}, row LONG")  # fmt: skip
    totals = train.groupBy("store_nbr", "date").agg(F.sum("sales").alias("sales")).toPandas()
    if totals.empty:
        raise FavoritaDataError("train.csv", "no sales rows to clean", fix="supply train.csv with at least one row per series")
    totals["date"] = pd.to_datetime(totals["date"])
    calendar_gap_check(totals["date"].drop_duplicates())
    unknown = sorted(set(totals["store_nbr"]) - set(stores["store_nbr"]))
    if unknown:
        raise FavoritaDataError(
            "train.csv", "stores.csv does not list this store", column="store_nbr", value=str(unknown[0]),
            fix="add the store to stores.csv, or drop its rows from train.csv",
        )  # fmt: skip
    last_date = totals["date"].max()
    closures = find_store_closures(totals, last_date)
    shared = spark.sparkContext.broadcast((stores, oil, holidays, closures, last_date))

    def clean_one_series(rows: pd.DataFrame) -> pd.DataFrame:
        stores_b, oil_b, holidays_b, closures_b, last_b = shared.value
        rows = rows.assign(date=pd.to_datetime(rows["date"]))
        rows.index = rows.pop("row").to_numpy()
        store = rows["store_nbr"].iat[0]
        out = clean_series(rows, stores_b, oil_b, holidays_b, last_date=last_b,
                           closures=closures_b[closures_b["store_nbr"] == store])  # fmt: skip
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
        pipes.log.info(f"cleaning with engine={args.engine} into {args.output_uri}")
        try:
            result = run(args, files)
        except Exception as error:  # refused input, or anything else: leave a readable reason, then fail the run
            data_error = _data_error(error)
            record = {"message": str(data_error) if data_error else f"{type(error).__name__}: {error}",
                      "data_error": data_error.as_metadata() if data_error else None,
                      "detail": None if data_error else traceback.format_exc()[-4000:]}  # fmt: skip
            files.write_bytes(f"{args.output_uri}/{ERROR_FILE}", json.dumps(record, default=str).encode())
            pipes.log.error(record["message"])
            return 1
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
