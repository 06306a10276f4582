"""Jobs, schedules and sensors that decide when the asset graph is materialized."""

from dagster import AssetSelection, Definitions, define_asset_job

PIPELINE_JOB_NAME = "favorita_pipeline"

favorita_pipeline = define_asset_job(
    PIPELINE_JOB_NAME,
    selection=AssetSelection.all(),
    description="Materialize the whole graph: land the raw files, clean the series, and run every check.",
)

defs = Definitions(jobs=[favorita_pipeline])
