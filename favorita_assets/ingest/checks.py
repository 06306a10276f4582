"""Checks on the landed raw copies: the copy is intact, and the days without any row are the expected ones.

Keys, negative values and holiday types are not re-checked here: ``raw_<table>`` refuses a file that breaks them
before anything is landed, and the landed copy cannot change afterwards without ``landed_copy_intact`` failing (its
sha256 is its address). Re-reading the whole file to re-test them would add time, not protection.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    multi_asset_check,
)

from favorita_assets import storage_keys as keys
from favorita_assets.checks import rows_check
from favorita_assets.core.quality import explain_missing_days
from favorita_assets.core.schema import missing_calendar_dates, read_dates
from favorita_assets.ingest.assets import RAW_ASSET_NAMES
from favorita_assets.resources.storage import Storage, sha256_of_file

# Tables where a day with no row at all is worth a look (25 December in train.csv, weekends in oil.csv).
DATED = ("train", "oil", "transactions")


def _check_names(table: str) -> list[str]:
    return ["landed_copy_intact"] + (["contiguous_dates"] if table in DATED else [])


_DESCRIPTIONS = {
    "landed_copy_intact": "The landed copy's sha256 matches the checksum in its key (nothing altered it).",
    "contiguous_dates": "Every day between the first and last date has a row, except the days Kaggle's files are "
    "known to lack (25 December; 1 January in transactions.csv; weekends in oil.csv), which are listed; warns only.",
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
            dates = read_dates(path) if "contiguous_dates" in names else None
        yield AssetCheckResult(
            check_name="landed_copy_intact",
            asset_key=asset_name,
            passed=actual == record["sha256"],
            metadata={"expected_sha256": record["sha256"], "actual_sha256": actual, "key": record["key"]},
        )
        if dates is not None:
            expected, unexpected, why = explain_missing_days(table, missing_calendar_dates(dates))
            shown = ", ".join(f"{d:%Y-%m-%d}" for d in expected["missing_date"][:12])
            more = f" and {len(expected) - 12} more" if len(expected) > 12 else ""
            yield rows_check(
                "contiguous_dates",
                asset_name,
                unexpected,
                "days with no row at all, which Kaggle's files are not known to lack: the cleaning fills gaps of up "
                "to 7 days as missing rows and refuses longer ones",
                severity=AssetCheckSeverity.WARN,
                metadata={
                    "expected_missing_days": MetadataValue.text(
                        f"{len(expected)}: {shown}{more} ({why})" if len(expected) else "none"
                    )
                },
            )

    return _checks


RAW_CHECKS = [_raw_checks(table) for table in RAW_ASSET_NAMES]
