"""Turning the core's rule results (offending rows) into Dagster asset-check results that name those rows."""

from __future__ import annotations

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from favorita_assets.core.quality import CheckOutcome

MAX_ROWS_SHOWN = 20


def rows_check(
    name: str,
    asset_key: str,
    offending: pd.DataFrame,
    what: str,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    metadata: dict[str, object] | None = None,
) -> AssetCheckResult:
    """Passes when ``offending`` is empty; otherwise its metadata shows the first offending rows and their count.
    ``metadata`` is added either way."""
    passed = offending.empty
    metadata = {"offending_rows": MetadataValue.int(len(offending)), **(metadata or {})}
    if not passed:
        shown = offending.head(MAX_ROWS_SHOWN).copy()
        for column in shown.columns:
            if pd.api.types.is_datetime64_any_dtype(shown[column]):
                shown[column] = shown[column].dt.strftime("%Y-%m-%d")
        metadata["first_offending_rows"] = MetadataValue.md(shown.to_markdown(index=False))
        metadata["problem"] = MetadataValue.text(f"{len(offending):,} row(s): {what}")
    return AssetCheckResult(
        check_name=name,
        asset_key=asset_key,
        passed=passed,
        severity=severity,
        metadata=metadata,
        description=None if passed else f"{len(offending):,} row(s): {what}",
    )


def check_result(outcome: CheckOutcome) -> AssetCheckResult:
    """A plain check outcome as Dagster shows it."""
    return AssetCheckResult(
        check_name=outcome.name,
        passed=outcome.passed,
        severity=AssetCheckSeverity(outcome.severity),
        description=outcome.description,
        metadata=outcome.metadata,
    )
