"""The one place the deployment (local | aws) and its settings are read.

Environment variables (all optional on the embedded default):
- ``FAVORITA_DEPLOYMENT``: ``local`` (default) or ``aws``;
- ``FAVORITA_DATA_DIR``: the folder holding the Kaggle files (train.csv, stores.csv, ...); default ``./data/favorita``;
- ``FAVORITA_STORAGE_DIR``: the local storage root; default ``./var/storage``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEPLOYMENTS = ("local", "aws")


class SettingsError(ValueError):
    """A deployment setting that is missing or wrong."""


@dataclass(frozen=True)
class Settings:
    deployment: str
    data_dir: Path
    storage_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        deployment = env.get("FAVORITA_DEPLOYMENT", "local").strip().lower()
        if deployment not in DEPLOYMENTS:
            raise SettingsError(
                f"FAVORITA_DEPLOYMENT={deployment!r} is not a deployment; use one of {', '.join(DEPLOYMENTS)}"
            )
        return cls(
            deployment=deployment,
            data_dir=Path(env.get("FAVORITA_DATA_DIR", "data/favorita")).expanduser(),
            storage_dir=Path(env.get("FAVORITA_STORAGE_DIR", "var/storage")).expanduser(),
        )


def build_resources(settings: Settings) -> dict[str, object]:
    """The resources of the chosen deployment, keyed as the assets expect them."""
    from favorita_assets.ingest.resources import RawDataSource
    from favorita_assets.resources.etl import InProcessCleaning
    from favorita_assets.resources.storage import LocalStorage
    from favorita_assets.resources.training import LocalDeepAR

    if settings.deployment == "aws":
        raise SettingsError(
            "FAVORITA_DEPLOYMENT=aws: the AWS backend (S3, Glue, SageMaker) is not implemented yet; "
            "unset FAVORITA_DEPLOYMENT to use the local backend"
        )
    return {
        "storage": LocalStorage(root=str(settings.storage_dir.resolve())),
        "raw_source": RawDataSource(data_dir=str(settings.data_dir.resolve())),
        "cleaning": InProcessCleaning(),
        "trainer": LocalDeepAR(),
    }
