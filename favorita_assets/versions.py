"""Code versions and data versions of the assets, so the Dagster UI marks an asset stale when its code or any of its
inputs changed since it was materialized (and Dagster can skip what is up to date).

Bump an asset's code version when a change to its code changes what it writes.
"""

from __future__ import annotations

import hashlib

from dagster import DataVersion

CODE_VERSIONS = {
    "raw": "3",  # any encoding, gzipped or in Kaggle's zip; partitions registered from the sales history
    "cleaned_series": "2",
    "deepar_training_data": "4",  # unplanned promotions estimated from each series' last 4 weeks, windows too
    "deepar_model": "2",  # the scale floored at one unit, a year's lags, a 56-day context
    "forecast_evaluation": "4",  # the direct LightGBM, the ensemble, stopped series at 0, DeepAR's log-space point
    "forecasts": "4",  # the ensemble, stopped series at 0
    "kaggle_submission": "2",  # removes an earlier horizon's file
    # coherent total band, one-day forecasts as points, actuals after a past cut-off, RMSLE per window
    "forecast_plots": "3",
    "forecast_drivers": "1",
    "inventory_snapshot": "1",
    "adjusted_forecasts": "1",
    "replenishment_plan": "2",  # from the adjusted forecasts when overrides are in effect; says which
    "planner_report": "3",  # the overrides in effect, the track record, why this forecast
    "forecast_value_added": "1",
}


def content_version(*parts: bytes | str) -> DataVersion:
    """A data version from the content an asset wrote: the same bytes, the same version."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return DataVersion(digest.hexdigest()[:16])
