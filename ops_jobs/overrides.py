"""Planners' overrides: land an override set for a published cut-off (which stores, families, days; a multiplier, a
quantity or a closure; why and who; ``ops_jobs/examples/overrides.csv`` shows the layout), then make the adjusted
forecasts, the replenishment plan and the planner report of that cut-off again from it. The statistical forecast
is never changed; every set landed stays in the audit trail. Also ``favorita override``."""

from dagster import AssetSelection, define_asset_job

APPLY_OVERRIDES_JOB = "apply_overrides"

apply_overrides = define_asset_job(
    APPLY_OVERRIDES_JOB,
    selection=AssetSelection.assets("adjusted_forecasts", "replenishment_plan", "planner_report"),
    description="Overrides: pick the cut-off (partition), give adjusted_forecasts' override_file in the launchpad; "
    "the set is validated against that cut-off's forecasts and landed with its sha256 and an audit record, and the "
    "adjusted forecasts, the plan and the report are made again from it. Without a file: the set in effect again.",
)
