"""Who runs the cleaning: in-process (local backend) or an AWS Glue job (AWS backend, later).

Both run :func:`favorita_assets.core.cleaning.clean_tables`, the same pure code, on the landed raw copies.
"""


from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from dagster import ConfigurableResource

from favorita_assets.core.cleaning import clean_tables, cleaning_stats
from favorita_assets.core.schema import read_kaggle_csv
from favorita_assets.resources.storage import Storage


class CleaningRunner(ConfigurableResource, ABC):
    """Turns the landed raw tables into ``cleaned_series`` Parquet at ``output_key``; returns summary stats."""

    @abstractmethod
    def run(self, storage: Storage, inputs: Mapping[str, str], output_key: str) -> dict[str, Any]:
        """``inputs`` maps table name (train, stores, oil, holidays_events) to its landed key."""


class InProcessCleaning(CleaningRunner):
    """Runs the cleaning in this process (the embedded default)."""

    def run(self, storage: Storage, inputs: Mapping[str, str], output_key: str) -> dict[str, Any]:
        frames = {}
        for table, key in inputs.items():
            with storage.local_path(key) as path:
                frames[table] = read_kaggle_csv(path, table)
        cleaned = clean_tables(frames)
        storage.write_parquet(output_key, cleaned)
        return cleaning_stats(cleaned)
