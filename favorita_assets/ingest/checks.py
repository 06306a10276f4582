"""Checks on the landed raw copies: the copy is intact, keys are unique, values are non-negative, dates contiguous."""


import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from favorita_assets import storage_keys as keys
from favorita_assets.checks import rows_check
from favorita_assets.core.schema import (
    KAGGLE_FILES,
    duplicate_key_rows,
    invalid_holiday_rows,
    missing_calendar_dates,
    negative_rows,
    read_kaggle_csv,
)
from favorita_assets.ingest.assets import RAW_ASSET_NAMES
from favorita_assets.resources.storage import Storage, sha256_of_file

NON_NEGATIVE = {"train": "sales", "transactions": "transactions", "oil": "dcoilwtico", "test": "onpromotion"}
# Tables where a day with no row at all is worth a warning (25 December in train.csv, weekends in oil.csv).
DATED = ("train", "oil", "transactions")


def _check_names(table: str) -> list[str]:
    spec = KAGGLE_FILES[table]
    names = ["landed_copy_intact"]
    if spec.key:
        names.append("unique_keys")
    if table in NON_NEGATIVE:
        names.append("non_negative")
    if table in DATED:
        names.append("contiguous_dates")
    if table == "holidays_events":
        names.append("known_holiday_types")
    return names


_DESCRIPTIONS = {
    "landed_copy_intact": "The landed copy's sha256 matches the checksum in its key (nothing altered it).",
    "unique_keys": "No two rows share the table's key.",
    "non_negative": "No negative values in the measure column.",
    "contiguous_dates": "Every day between the first and last date has a row (missing days are listed; warns only).",
    "known_holiday_types": "Holiday type and locale are values Kaggle uses.",
}


def _raw_checks(table: str) -> AssetChecksDefinition:
    asset_name = RAW_ASSET_NAMES[table]
    names = _check_names(table)

    @multi_asset_check(
        name=f"{asset_name}_checks",
        specs=[
            AssetCheckSpec(name, asset=asset_name, description=_DESCRIPTIONS[name], blocking=name != "contiguous_dates")
            for name in names
        ],
    )
    def _checks(context: AssetCheckExecutionContext, storage: Storage):
        record = storage.read_json(f"{keys.raw_prefix(table)}/latest.json")
        if record.get("absent"):
            for name in names:
                yield AssetCheckResult(
                    check_name=name, asset_key=asset_name, passed=True, metadata={"file": "absent: nothing to check"}
                )
            return
        with storage.local_path(record["key"]) as path:
            actual = sha256_of_file(path)
            frame = read_kaggle_csv(path, table)
        yield AssetCheckResult(
            check_name="landed_copy_intact",
            asset_key=asset_name,
            passed=actual == record["sha256"],
            metadata={"expected_sha256": record["sha256"], "actual_sha256": actual, "key": record["key"]},
        )
        spec = KAGGLE_FILES[table]
        if "unique_keys" in names:
            yield rows_check("unique_keys", asset_name, duplicate_key_rows(frame, spec.key), f"share a key {spec.key}")
        if "non_negative" in names:
            column = NON_NEGATIVE[table]
            yield rows_check("non_negative", asset_name, negative_rows(frame, column), f"negative {column}")
        if "contiguous_dates" in names:
            missing = pd.DataFrame({"missing_date": missing_calendar_dates(frame["date"])})
            yield rows_check(
                "contiguous_dates", asset_name, missing, "days with no row at all", severity=AssetCheckSeverity.WARN
            )
        if "known_holiday_types" in names:
            yield rows_check("known_holiday_types", asset_name, invalid_holiday_rows(frame), "unknown type or locale")

    return _checks


RAW_CHECKS = [_raw_checks(table) for table in RAW_ASSET_NAMES]
