"""The code location: gathers the domains' definitions and the deployment's resources; nothing else."""

from dagster import Definitions

from favorita_assets import automation, ingest, series
from favorita_assets.settings import Settings, build_resources


def build_definitions(settings: Settings | None = None) -> Definitions:
    """All definitions, wired to the resources of ``settings`` (default: read from the environment)."""
    return Definitions.merge(
        ingest.defs,
        series.defs,
        automation.defs,
        Definitions(resources=build_resources(settings or Settings.from_env())),
    )


defs = build_definitions()
