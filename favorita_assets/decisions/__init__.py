"""Decisions: the inventory snapshot, the adjusted forecasts (the planners' overrides), the replenishment plan, the
planner's report, the forecast value added (and, as jobs beside them in ops_jobs, the promotion what-ifs and the
overrides)."""

from dagster import Definitions

from favorita_assets.decisions.assets import (
    adjusted_forecasts,
    forecast_value_added,
    inventory_snapshot,
    planner_report,
    replenishment_plan,
)

defs = Definitions(
    assets=[inventory_snapshot, adjusted_forecasts, replenishment_plan, forecast_value_added, planner_report]
)
