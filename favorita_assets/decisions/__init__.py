"""Decisions: the inventory snapshot, the replenishment plan, the planner's report (and, as a job beside them in
ops_jobs, the promotion what-ifs)."""

from dagster import Definitions

from favorita_assets.decisions.assets import inventory_snapshot, planner_report, replenishment_plan

defs = Definitions(assets=[inventory_snapshot, replenishment_plan, planner_report])
