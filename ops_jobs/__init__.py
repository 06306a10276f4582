"""Operational jobs beside the asset graph: upload raw data to the landing zone, deploy a model version to the serving
endpoint and roll it back, clean up old versions, promotion what-ifs and planners' overrides. Each is a Dagster job in
the same code location (launch them from the UI's Jobs page, or
`dagster job execute -m favorita_assets.definitions -j NAME`)."""

from dagster import Definitions

from ops_jobs.cleanup import cleanup_old_versions
from ops_jobs.deploy import deploy_model, rollback_model
from ops_jobs.overrides import apply_overrides
from ops_jobs.upload import upload_raw_data
from ops_jobs.what_if import promotion_what_if

OPS_JOBS = [upload_raw_data, deploy_model, rollback_model, cleanup_old_versions, promotion_what_if, apply_overrides]

defs = Definitions(jobs=OPS_JOBS)
