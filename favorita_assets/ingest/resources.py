"""Where raw Kaggle files come from: a folder, or the landing/ prefix of storage."""


import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from favorita_assets import storage_keys as keys


class RawDataSource(ConfigurableResource):
    """A folder in the Kaggle layout: train.csv, test.csv, stores.csv, oil.csv, holidays_events.csv, transactions.csv."""

    data_dir: str = Field(description="Folder holding the Kaggle CSV files (FAVORITA_DATA_DIR).")
    from_landing: bool = Field(
        default=False, description="Read the files from landing/ in storage instead (FAVORITA_RAW_SOURCE=landing): "
        "where the ops upload job puts them, and what the S3 'Object Created' rule watches in aws mode.",
    )  # fmt: skip

    def path_of(self, filename: str) -> Path:
        return Path(self.data_dir) / filename

    def source_of(self, storage, filename: str) -> str:
        """Where ``filename`` is read from, for messages and metadata."""
        return storage.uri(keys.landing_file(filename)) if self.from_landing else str(self.path_of(filename))

    @contextmanager
    def local_file(self, storage, filename: str) -> Iterator[Path]:
        """A local path of ``filename`` for the block; it does not exist when the file is absent."""
        if not self.from_landing:
            yield self.path_of(filename)
            return
        key = keys.landing_file(filename)
        if not storage.exists(key):
            yield Path(self.source_of(storage, filename))  # absent: read_kaggle_csv names it
            return
        with tempfile.TemporaryDirectory(prefix="favorita_landing_") as folder, storage.local_path(key) as path:
            named = Path(folder) / filename  # messages name the Kaggle file, not a temporary name
            shutil.copyfile(path, named)
            yield named

