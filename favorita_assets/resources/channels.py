"""Who builds a cut-off's DeepAR channels: this process (local backend) or the Glue job (AWS backend, ``aws/glue.py``).

Both run the same pure build (:mod:`favorita_assets.core.channels`) and write ``{prefix}/{train,test,inference}/``
plus a summary the asset turns into ``manifest.json``: locally one ``data.json`` per channel, in Glue ordered
``part-NNNNN.json`` files whose bytes, read in name order, are the local file's. SageMaker reads a channel's whole
prefix; :func:`channel_keys` lists the same files for this platform's own readers.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, ConfigurableResource
from pydantic import Field

from favorita_assets.core.channels import CHANNEL_COLUMNS, build_channel_files
from favorita_assets.core.deepar_format import CHANNEL_NAMES
from favorita_assets.core.forecast_format import write_datasets_from_channel
from favorita_assets.core.schema import read_kaggle_csv
from favorita_assets.resources.cleaned_series import read_parts
from favorita_assets.resources.storage import Storage

TABLES = ("test", "stores", "holidays_events")  # the landed tables a build reads besides the cleaned series


@dataclass(frozen=True)
class ChannelRequest:
    cleaned_parts: list[str]  # storage keys of the cleaned series' Parquet parts (the committed version)
    cleaned_engine: str  # the engine that wrote them ("spark" parts need normalizing)
    tables: Mapping[str, str | None]  # landed key of test, stores, holidays_events (None: test.csv absent)
    cutoff: pd.Timestamp
    prediction_length: int
    backtest_windows: int
    prefix: str  # where the channels go: {prefix}/{train,test,inference}/


def channel_keys(storage: Storage, prefix: str, channel: str) -> list[str]:
    """The data files of one channel, in order: what SageMaker reads from ``{prefix}/{channel}/`` (it skips names
    starting with ``_`` or ``.``, such as Spark's ``_SUCCESS``)."""
    keys = [k for k in storage.list_keys(f"{prefix}/{channel}") if not k.rsplit("/", 1)[-1].startswith(("_", "."))]
    if not keys:
        raise FileNotFoundError(f"no {channel} channel under {storage.uri(prefix)}: materialize deepar_training_data")
    return keys


class ChannelBuilder(ConfigurableResource, ABC):
    """Writes the channels of ``request`` and returns :func:`~favorita_assets.core.channels.channel_summary`."""

    forecast_datasets: bool = Field(
        default=False,
        description="Also write Amazon Forecast's target, related and item metadata CSVs from the "
        "inference channel, to {prefix}/forecast/{target,related,items}/ (the amazon-forecast model backend).",
    )

    @abstractmethod
    def build(self, context: AssetExecutionContext, storage: Storage, request: ChannelRequest) -> dict[str, Any]:
        """Raises FavoritaDataError or ValueError for data the build refuses; earlier channels are then kept."""


class InProcessChannels(ChannelBuilder):
    """Builds the channels in this process, streamed series by series to local files, then uploaded."""

    def build(self, context, storage, request):
        cleaned = read_parts(storage, request.cleaned_parts, request.cleaned_engine, columns=CHANNEL_COLUMNS)
        tables = {}
        for table in TABLES:
            key = request.tables.get(table)
            if key is None:
                tables[table] = None
                continue
            with storage.local_path(key) as path:
                tables[table] = read_kaggle_csv(path, table)
        with tempfile.TemporaryDirectory(prefix="favorita-channels-") as folder:
            summary = build_channel_files(
                cleaned,
                tables["test"],
                tables["stores"],
                tables["holidays_events"],
                request.cutoff,
                request.prediction_length,
                request.backtest_windows,
                folder,
            )
            del cleaned
            written = {
                name: [_put_alone(storage, summary["files"][name][0], f"{request.prefix}/{name}", "data.json")]
                for name in CHANNEL_NAMES
            }
            if self.forecast_datasets:
                summary["forecast_datasets"] = upload_forecast_datasets(
                    storage,
                    request,
                    summary["files"]["test"],
                    summary["files"]["inference"],
                    summary["encoding"],
                    folder,
                )
        return {**summary, "files": written}


def upload_forecast_datasets(
    storage: Storage, request: ChannelRequest, test_files: list, inference_files: list, encoding: Mapping, folder: str
) -> dict[str, Any]:
    """Amazon Forecast's three CSVs from the local test and inference channel files (the history's features from
    the test channel, the horizon's from the inference channel), to ``{prefix}/forecast/<dataset>/data.csv``."""
    files, counts = write_datasets_from_channel(
        test_files, inference_files, encoding, f"{folder}/forecast", request.prediction_length
    )
    written = {
        name: [_put_alone(storage, path, f"{request.prefix}/forecast/{name}", "data.csv")]
        for name, path in files.items()
    }
    return {"files": written, **counts}


def _put_alone(storage: Storage, path, folder: str, name: str) -> str:
    """Upload ``path`` as ``folder/name`` and delete whatever else is in ``folder`` (parts an AWS-mode build left
    there), so the folder holds this build's file alone; returns its key."""
    key = f"{folder}/{name}"
    storage.put_file(path, key)
    for old in [k for k in storage.list_keys(folder) if k != key]:
        storage.delete(old)
    return key
