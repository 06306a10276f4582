"""Where raw Kaggle files come from."""


from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field


class RawDataSource(ConfigurableResource):
    """A folder in the Kaggle layout: train.csv, test.csv, stores.csv, oil.csv, holidays_events.csv, transactions.csv."""

    data_dir: str = Field(description="Folder holding the Kaggle CSV files (FAVORITA_DATA_DIR).")

    def path_of(self, filename: str) -> Path:
        return Path(self.data_dir) / filename
