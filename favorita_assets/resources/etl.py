"""Who runs the cleaning: in-process (local backend) or an AWS Glue job (AWS backend, ``aws/glue.py``).

Both run :func:`favorita_assets.core.cleaning.clean_tables` (or, in Glue's Spark engine, the same
:func:`~favorita_assets.core.cleaning.clean_series` per series) on the landed raw copies, write Parquet parts under a
version prefix, and report the same statistics and the same sales reconciliation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetExecutionContext, ConfigurableResource

from favorita_assets.core.cleaning import clean_and_reconcile
from favorita_assets.core.schema import read_kaggle_csv
from favorita_assets.resources.storage import Storage


@dataclass(frozen=True)
class CleaningOutcome:
    parts: list[str]  # storage keys of the Parquet parts written
    stats: dict[str, Any]  # cleaning_stats() of the output
    reconciliation: dict[str, Any]  # sales_reconciliation() of input vs output
    engine: str
    metadata: dict[str, Any] = field(default_factory=dict)  # backend-specific (e.g. the Glue job run)


class CleaningRunner(ConfigurableResource, ABC):
    """Turns the landed raw tables into ``cleaned_series`` Parquet parts under ``output_prefix``."""

    @abstractmethod
    def run(
        self, context: AssetExecutionContext, storage: Storage, inputs: Mapping[str, str], output_prefix: str
    ) -> CleaningOutcome:
        """``inputs`` maps table name (train, stores, oil, holidays_events) to its landed key. Raises
        FavoritaDataError for input the cleaning refuses, before anything is written."""


class InProcessCleaning(CleaningRunner):
    """Runs the cleaning in this process (the embedded default)."""

    def run(self, context, storage, inputs, output_prefix):
        frames = {}
        for table, key in inputs.items():
            with storage.local_path(key) as path:
                frames[table] = read_kaggle_csv(path, table)
        cleaned, stats, reconciliation = clean_and_reconcile(frames)
        part = f"{output_prefix}/part-00000.parquet"
        storage.write_parquet(part, cleaned)
        return CleaningOutcome(parts=[part], stats=stats, reconciliation=reconciliation, engine="pandas")
