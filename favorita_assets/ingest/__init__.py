"""Data landing: the six Kaggle files, validated and kept as immutable, checksummed copies in storage."""

from dagster import Definitions

from favorita_assets.ingest.assets import RAW_ASSETS
from favorita_assets.ingest.checks import RAW_CHECKS

defs = Definitions(assets=RAW_ASSETS, asset_checks=RAW_CHECKS)
