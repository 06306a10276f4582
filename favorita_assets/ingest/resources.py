"""Where raw Kaggle files come from: a folder, or the landing/ prefix of storage."""

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from favorita_assets import storage_keys as keys


class RawDataSource(ConfigurableResource):
    """A folder in the Kaggle layout: train.csv, test.csv, stores.csv, oil.csv, holidays_events.csv, transactions.csv,
    each as it is, gzipped (``train.csv.gz``), or inside Kaggle's download
    (``store-sales-time-series-forecasting.zip``)."""

    data_dir: str = Field(description="Folder holding the Kaggle CSV files (FAVORITA_DATA_DIR).")
    from_landing: bool = Field(
        default=False,
        description="Read the files from landing/ in storage instead (FAVORITA_RAW_SOURCE=landing): "
        "where the ops upload job puts them, and what the S3 'Object Created' rule watches in aws mode.",
    )

    def path_of(self, filename: str) -> Path:
        """Where ``filename`` is in the folder: itself, else gzipped beside it (``train.csv.gz``, read as it is)."""
        plain = Path(self.data_dir) / filename
        packed = plain.with_name(filename + ".gz")
        return packed if not plain.exists() and packed.exists() else plain

    def _zipped(self, filename: str) -> tuple[Path, str] | None:
        """The Kaggle download (``*.zip`` in the folder) holding ``filename``, and its name in the archive."""
        for archive in sorted(Path(self.data_dir).glob("*.zip")):
            try:
                with zipfile.ZipFile(archive) as bundle:
                    names = {Path(n).name: n for n in bundle.namelist() if not n.endswith("/")}
            except zipfile.BadZipFile:
                continue
            for name in (filename, filename + ".gz"):
                if name in names:
                    return archive, names[name]
        return None

    def source_of(self, storage, filename: str) -> str:
        """Where ``filename`` is read from, for messages and metadata."""
        return storage.uri(keys.landing_file(filename)) if self.from_landing else str(self.path_of(filename))

    @contextmanager
    def local_file(self, storage, filename: str) -> Iterator[Path]:
        """A local path of ``filename`` for the block; it does not exist when the file is absent."""
        if not self.from_landing:
            path = self.path_of(filename)
            zipped = None if path.exists() else self._zipped(filename)
            if zipped is None:
                yield path
                return
            archive, member = zipped  # Kaggle's download, as it comes: the one member copied out for the block
            with tempfile.TemporaryDirectory(prefix="favorita_zip_") as folder, zipfile.ZipFile(archive) as bundle:
                named = Path(folder) / Path(member).name
                with bundle.open(member) as source, open(named, "wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
                yield named
            return
        key = keys.landing_file(filename)
        if not storage.exists(key):
            yield Path(self.source_of(storage, filename))  # absent: read_kaggle_csv names it
            return
        with tempfile.TemporaryDirectory(prefix="favorita_landing_") as folder, storage.local_path(key) as path:
            named = Path(folder) / filename  # messages name the Kaggle file, not a temporary name
            shutil.copyfile(path, named)
            yield named
