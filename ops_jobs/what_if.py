"""Promotion what-if: forecast a published cut-off again under a scenario file (which stores, family, days and
promotion counts; ``ops_jobs/examples/promotion_scenario.csv`` shows the layout) with the same published models,
against the base plan. Writes ``scenarios/cutoff_month=YYYY-MM/scenario=NAME/`` (whatif.parquet, summary.json) and
writes the cut-off's planner report again, now with the scenario in it. Also ``favorita what-if``."""

from pathlib import Path

from dagster import AssetKey, AssetMaterialization, Config, MetadataValue, OpExecutionContext, Output, job, op
from pydantic import Field

from favorita_assets import storage_keys as keys
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.dagster_failures import data_errors_as_failures
from favorita_assets.decisions.assets import write_report
from favorita_assets.decisions.whatif import run_what_if, scenario_name, what_if_table
from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer

EXAMPLE_SCENARIO = Path(__file__).parent / "examples" / "promotion_scenario.csv"


def published_months(storage: Storage) -> list[str]:
    """The cut-off months with published forecasts, oldest first: the months a what-if can use."""
    return sorted(
        {
            k.split("/")[1].removeprefix("cutoff_month=")
            for k in storage.list_keys("forecasts")
            if k.endswith("/forecasts.parquet")
        }
    )


def latest_forecast_month(storage: Storage) -> str:
    months = published_months(storage)
    if not months:
        raise FavoritaDataError(
            storage.uri("forecasts"),
            "no forecasts are published yet",
            fix="materialize the forecasts asset first (favorita run, or the monthly schedule)",
        )
    return months[-1]


class WhatIfConfig(Config):
    scenario_file: str = Field(
        description="Scenario CSV or Parquet: store_nbr (or 'all'), family, start_date, "
        "end_date, onpromotion; one row per promotion. A local path, or on AWS (where a task has no file of its "
        "own) an s3:// URI in the project's artifacts bucket, e.g. s3://<artifacts bucket>/scenarios/inputs/x.csv."
    )
    month: str | None = Field(default=None, description="Forecast cut-off month YYYY-MM; default the latest published.")
    name: str | None = Field(
        default=None, description="Name of the scenario in storage and the report; default the file's name."
    )


@op(
    description="Forecast a published cut-off under a promotion scenario with the same published models; write the "
    "lift against the base plan and the planner report with the scenario in it."
)
def forecast_scenario(context: OpExecutionContext, config: WhatIfConfig, storage: Storage, trainer: DeepARTrainer):
    with data_errors_as_failures():
        month = config.month or latest_forecast_month(storage)
        partition = month  # the cut-off partitions are months, YYYY-MM
        if not storage.exists(keys.forecasts(partition)):
            raise FavoritaDataError(
                storage.uri(keys.forecasts(partition)),
                f"no forecasts for the cut-off month {month}",
                fix="pick a published month, or leave month empty for the latest",
            )
        name = scenario_name(config.name or Path(config.scenario_file).stem)
        result = run_what_if(context, storage, trainer, partition, config.scenario_file, name)
    uri, facts, _ = write_report(storage, partition)
    lines = what_if_table(result["rows"])
    context.log.info(f"what-if {name} on {month}:\n{lines}\nreport: {uri}")
    yield AssetMaterialization(
        asset_key=AssetKey("planner_report"),
        partition=partition,
        description=f"written again with the what-if {name}",
        metadata={"path": MetadataValue.path(uri), "what_ifs": ", ".join(facts["what_ifs"])},
    )
    yield Output(
        result | {"report": uri},
        metadata={
            "month": month,
            "scenario": name,
            "series_days": result["series_days"],
            "results": MetadataValue.md(lines),
            "table": MetadataValue.path(result["table"]),
            "report": MetadataValue.path(uri),
        },
    )


@job(
    description="Promotion what-if: a scenario file (stores, family, days, promotion counts) forecast with the same "
    "published models; the lift against the base plan, with its interval, in storage and in the planner report."
)
def promotion_what_if():
    forecast_scenario()
