"""``raw_<table>`` assets: read a Kaggle file, refuse it with a clear error if it is malformed, land a copy."""

from pathlib import Path

from dagster import AssetExecutionContext, AssetsDefinition, DataVersion, MaterializeResult, MetadataValue, asset

from favorita_assets import storage_keys as keys
from favorita_assets.core.schema import KAGGLE_FILES, ensure_valid, read_kaggle_csv
from favorita_assets.dagster_failures import data_errors_as_failures
from favorita_assets.ingest.resources import RawDataSource
from favorita_assets.partitions import CUTOFF_PARTITIONS, cutoff_months
from favorita_assets.resources.storage import Storage
from favorita_assets.versions import CODE_VERSIONS

# Asset name per Kaggle table: train.csv holds the sales history.
RAW_ASSET_NAMES = {
    "train": "raw_sales",
    "stores": "raw_stores",
    "oil": "raw_oil",
    "holidays_events": "raw_holidays_events",
    "transactions": "raw_transactions",
    "test": "raw_test",
}


def _summary(table: str, frame) -> dict[str, object]:
    meta: dict[str, object] = {"rows": MetadataValue.int(len(frame)), "columns": ", ".join(frame.columns)}
    if "date" in frame.columns:
        meta["first_date"] = frame["date"].min().strftime("%Y-%m-%d")
        meta["last_date"] = frame["date"].max().strftime("%Y-%m-%d")
    if "store_nbr" in frame.columns:
        meta["stores"] = MetadataValue.int(int(frame["store_nbr"].nunique()))
    if "family" in frame.columns:
        meta["families"] = MetadataValue.int(int(frame["family"].nunique()))
    meta["preview"] = MetadataValue.md(frame.head(5).to_markdown(index=False))
    return meta


def _land_file(
    context: AssetExecutionContext, storage: Storage, path: Path, source: str, table: str
) -> MaterializeResult:
    spec = KAGGLE_FILES[table]
    prefix = keys.raw_prefix(table)
    if not spec.required and not path.exists():
        storage.write_json(f"{prefix}/latest.json", {"absent": True, "source": source})
        context.log.info(f"{spec.filename} is absent ({source}); recorded as absent")
        return MaterializeResult(metadata={"present": False, "source": source}, data_version=DataVersion("absent"))
    with data_errors_as_failures():
        frame = read_kaggle_csv(path, table)
        ensure_valid(table, frame)
    record = storage.land_file(path, prefix, source)
    if table == "train":
        _register_cutoffs(context, frame)
    context.log.info(
        f"{spec.filename}: {len(frame):,} rows, sha256 {record['sha256'][:12]}…, "
        f"{'landed' if record['copied'] else 'already landed'} at {storage.uri(record['key'])}"
    )
    return MaterializeResult(
        metadata={
            "present": True,
            "encoding": frame.attrs.get("encoding", "utf8"),
            "sha256": record["sha256"],
            "bytes": MetadataValue.int(record["bytes"]),
            "landed_at": MetadataValue.path(storage.uri(record["key"])),
            "source": MetadataValue.path(source),
            **_summary(table, frame),
        },
        data_version=DataVersion(record["sha256"]),
    )


def _register_cutoffs(context: AssetExecutionContext, train) -> None:
    """Add a monthly cut-off partition for every month of the sales history that has enough history before it
    (from the first day with a sale), so the UI and the schedule offer only months that can succeed."""
    sold = train.loc[train["sales"] > 0, "date"]
    months = cutoff_months(sold.min() if len(sold) else train["date"].min(), train["date"].max())
    known = set(context.instance.get_dynamic_partitions(CUTOFF_PARTITIONS.name))
    new = [m for m in months if m not in known]
    if new:
        context.instance.add_dynamic_partitions(CUTOFF_PARTITIONS.name, new)
        context.log.info(f"monthly cut-offs {new[0]}..{new[-1]} added ({len(new)} new, {len(months)} in the data)")


def _raw_asset(table: str) -> AssetsDefinition:
    spec = KAGGLE_FILES[table]
    optional = "" if spec.required else " Optional: when the file is absent the asset records that and lands nothing."

    @asset(
        name=RAW_ASSET_NAMES[table],
        group_name="ingest",
        kinds={"csv", "pandas"},
        code_version=CODE_VERSIONS["raw"],
        description=f"Kaggle's {spec.filename}, validated (schema, types, unique keys, no negative values) and kept "
        f"as an immutable sha256-addressed copy under {keys.raw_prefix(table)}/ in storage.{optional}",
    )
    def _land(context: AssetExecutionContext, raw_source: RawDataSource, storage: Storage) -> MaterializeResult:
        with raw_source.local_file(storage, spec.filename) as path:
            return _land_file(context, storage, path, raw_source.source_of(storage, spec.filename), table)

    return _land


RAW_ASSETS = [_raw_asset(table) for table in RAW_ASSET_NAMES]


def landed_key(storage: Storage, table: str) -> str | None:
    """The storage key of the latest landed copy of a raw table, or None when the (optional) file was absent."""
    record = storage.read_json(f"{keys.raw_prefix(table)}/latest.json")
    return None if record.get("absent") else record["key"]


def read_landed(storage: Storage, table: str):
    """The latest landed copy of a raw table as a validated frame, or None when the (optional) file was absent."""
    key = landed_key(storage, table)
    if key is None:
        return None
    with storage.local_path(key) as path:
        return read_kaggle_csv(path, table)
