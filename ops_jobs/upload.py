"""Upload the raw Kaggle files to the landing zone (``landing/`` in storage; the raw bucket in aws mode), with
checksums.

Each file's SHA-256 is compared with the landing manifest (``landing/_manifest.json``); unchanged files are skipped,
changed ones are uploaded (in aws mode S3 verifies a SHA-256 checksum of the bytes it received) and the manifest is
rewritten last, with the last date of train.csv so the event sensor knows which month a refresh materializes. In aws
mode every upload raises an S3 "Object Created" event under landing/, which EventBridge puts on the event queue.
"""

from datetime import UTC, datetime
from pathlib import Path

from dagster import Config, MetadataValue, OpExecutionContext, Output, job, op
from pydantic import Field

from favorita_assets import storage_keys as keys
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.inventory import INVENTORY_FILES
from favorita_assets.core.schema import KAGGLE_FILES
from favorita_assets.dagster_failures import data_errors_as_failures
from favorita_assets.ingest.resources import RawDataSource
from favorita_assets.partitions import train_date_range
from favorita_assets.resources.storage import Storage, sha256_of_file


def upload_landing(storage: Storage, source_dir: Path, log=print) -> dict:
    """Upload the Kaggle files of ``source_dir`` that changed since the last upload; returns the new manifest plus
    ``uploaded`` and ``skipped`` file names."""
    source_dir = Path(source_dir)
    present = [
        name
        for name in [spec.filename for spec in KAGGLE_FILES.values()] + list(INVENTORY_FILES)
        if (source_dir / name).is_file()
    ]  # the Kaggle files and an inventory snapshot
    if "train.csv" not in present:
        raise FavoritaDataError(
            str(source_dir / "train.csv"),
            "file not found",
            fix="point the upload at the folder holding the Kaggle files",
        )
    manifest = storage.read_json(keys.LANDING_MANIFEST) if storage.exists(keys.LANDING_MANIFEST) else {"files": {}}
    uploaded, skipped = [], []
    for name in present:
        path = source_dir / name
        digest = sha256_of_file(path)
        key = keys.landing_file(name)
        if manifest["files"].get(name, {}).get("sha256") == digest and storage.exists(key):
            skipped.append(name)
            log(f"{name}: unchanged (sha256 {digest[:12]}…), skipped")
            continue
        storage.put_file(path, key)
        manifest["files"][name] = {
            "sha256": digest,
            "bytes": path.stat().st_size,
            "uploaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        uploaded.append(name)
        log(f"{name}: uploaded to {storage.uri(key)} (sha256 {digest[:12]}…, {path.stat().st_size:,} bytes)")
    if uploaded:
        first, last = train_date_range(source_dir / "train.csv")
        manifest["train_first_date"], manifest["train_last_date"] = f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"
        storage.write_json(keys.LANDING_MANIFEST, manifest)
    return {**manifest, "uploaded": uploaded, "skipped": skipped}


class UploadConfig(Config):
    source_dir: str | None = Field(default=None, description="Folder with the Kaggle files; default FAVORITA_DATA_DIR.")


@op(description="Upload the changed Kaggle files to landing/ with SHA-256 checksums; unchanged files are skipped.")
def upload_raw_files(context: OpExecutionContext, config: UploadConfig, storage: Storage, raw_source: RawDataSource):
    source = Path(config.source_dir or raw_source.data_dir)
    with data_errors_as_failures():
        result = upload_landing(storage, source, log=context.log.info)
    yield Output(
        result,
        metadata={
            "uploaded": ", ".join(result["uploaded"]) or "nothing changed",
            "skipped": ", ".join(result["skipped"]) or "none",
            "train_last_date": result.get("train_last_date", ""),
            "landing": MetadataValue.path(storage.uri(keys.LANDING_PREFIX)),
        },
    )


@job(
    description="Upload raw Kaggle files to the landing zone (with checksums, skipping unchanged files). Set "
    "FAVORITA_RAW_SOURCE=landing for the graph to read them from there."
)
def upload_raw_data():
    upload_raw_files()
