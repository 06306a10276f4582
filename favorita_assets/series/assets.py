"""``cleaned_series``: every (store_nbr, family) on a complete daily grid with its features, as Parquet."""


import hashlib
import time

from dagster import AssetExecutionContext, DataVersion, MaterializeResult, MetadataValue, asset

from favorita_assets import storage_keys as keys
from favorita_assets.core.cleaning import CLEANED_COLUMNS, CLEANING_INPUTS
from favorita_assets.errors import data_errors_as_failures
from favorita_assets.ingest.assets import RAW_ASSET_NAMES
from favorita_assets.resources.etl import CleaningRunner
from favorita_assets.resources.storage import Storage

CLEANING_CODE_VERSION = "1"


@asset(
    group_name="series",
    kinds={"pandas", "parquet"},
    code_version=CLEANING_CODE_VERSION,
    deps=[RAW_ASSET_NAMES[t] for t in CLEANING_INPUTS],
    description="One row per (store_nbr, family, date) from each series' first sale to the last train date: "
    "missing rows and closed days as flagged zeros, oil filled onto every day, per-store holiday flags "
    f"(national/regional/local, transfers applied), promotions, calendar and store metadata. Columns: "
    f"{', '.join(CLEANED_COLUMNS)}.",
)
def cleaned_series(context: AssetExecutionContext, storage: Storage, cleaning: CleaningRunner) -> MaterializeResult:
    pointers = {t: storage.read_json(f"{keys.raw_prefix(t)}/latest.json") for t in CLEANING_INPUTS}
    inputs = {t: p["key"] for t, p in pointers.items()}
    started = time.perf_counter()
    with data_errors_as_failures():
        stats = cleaning.run(storage, inputs, keys.CLEANED_SERIES)
    seconds = time.perf_counter() - started
    context.log.info(
        f"cleaned {stats['series']:,} series into {stats['rows']:,} rows in {seconds:.1f}s "
        f"({stats['missing_rows_filled']:,} missing rows and {stats['store_closed_rows']:,} closed store-days filled)"
    )
    fingerprint = hashlib.sha256(
        ("|".join(pointers[t]["sha256"] for t in CLEANING_INPUTS) + CLEANING_CODE_VERSION).encode()
    ).hexdigest()
    return MaterializeResult(
        metadata={
            **{k: MetadataValue.int(v) if isinstance(v, int) else v for k, v in stats.items()},
            "seconds": round(seconds, 2),
            "path": MetadataValue.path(storage.uri(keys.CLEANED_SERIES)),
            "input_sha256": MetadataValue.json({t: p["sha256"] for t, p in pointers.items()}),
        },
        data_version=DataVersion(fingerprint[:16]),
    )
