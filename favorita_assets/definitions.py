"""The code location: gathers the domains' definitions and the deployment's resources; nothing else."""

from dagster import Definitions, colored_console_logger

import ops_jobs
from favorita_assets import automation, decisions, ingest, modeling, publishing, series
from favorita_assets.progress import favorita_progress
from favorita_assets.settings import Settings, build_resources


def build_definitions(settings: Settings | None = None, resources: dict | None = None) -> Definitions:
    """All definitions, wired to the resources of ``settings`` (default: read from the environment); ``resources``
    replaces some of them (tests use it to plug in a deliberately bad model)."""
    settings = settings or Settings.from_env()
    return Definitions.merge(
        ingest.defs,
        series.defs,
        modeling.defs,
        publishing.defs,
        decisions.defs,
        automation.build_defs(settings),
        ops_jobs.defs,
        Definitions(
            resources={**build_resources(settings), **(resources or {})},
            loggers={"console": colored_console_logger, "favorita_progress": favorita_progress},
        ),
    )


defs = build_definitions()
