"""Cleaned daily series: the complete (store, family, date) grid with features, and its checks."""

from dagster import Definitions

from favorita_assets.series.assets import cleaned_series
from favorita_assets.series.checks import cleaned_series_checks

defs = Definitions(assets=[cleaned_series], asset_checks=[cleaned_series_checks])
