"""Low-stock alerts: the store x family pairs whose forecast P90 demand over the reorder lead time exceeds the stock
on hand, from an inventory snapshot CSV (``ops_jobs/examples/inventory.csv`` shows the layout). The table is written
to ``alerts/low_stock/cutoff_month=YYYY-MM/`` (CSV and Parquet) and a summary goes to the alerts resource: the log on
the embedded default, the SNS topic in aws mode."""


from pathlib import Path

from dagster import Config, MetadataValue, OpExecutionContext, Output, job, op
from pydantic import Field

from favorita_assets import storage_keys as keys
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.inventory import low_stock, read_inventory, summary_text
from favorita_assets.errors import data_errors_as_failures
from favorita_assets.resources.alerts import Alerts
from favorita_assets.resources.storage import Storage

EXAMPLE_INVENTORY = Path(__file__).parent / "examples" / "inventory.csv"


def latest_forecast_month(storage: Storage) -> str:
    months = sorted({k.split("/")[1].removeprefix("cutoff_month=") for k in storage.list_keys("forecasts")
                     if k.endswith("/forecasts.parquet")})  # fmt: skip
    if not months:
        raise FavoritaDataError(storage.uri("forecasts"), "no forecasts are published yet",
                                fix="materialize the forecasts asset first (favorita run, or the monthly schedule)")  # fmt: skip
    return months[-1]


class LowStockConfig(Config):
    inventory_csv: str = Field(default=str(EXAMPLE_INVENTORY), description="Inventory snapshot: store_nbr, family, "
                               "on_hand, lead_time_days (one row per store and family).")  # fmt: skip
    month: str | None = Field(default=None, description="Forecast cut-off month YYYY-MM; default the latest published.")


@op(description="Flag store x family pairs whose P90 demand over the lead time exceeds stock on hand; write the "
    "table and send a summary alert when any pair is at risk.")  # fmt: skip
def flag_low_stock(context: OpExecutionContext, config: LowStockConfig, storage: Storage, alerts: Alerts):
    with data_errors_as_failures():
        month = config.month or latest_forecast_month(storage)
        key = keys.forecasts(month)
        if not storage.exists(key):
            raise FavoritaDataError(storage.uri(key), f"no forecasts for cut-off {month}",
                                    fix="pick a published month, or leave month empty for the latest")  # fmt: skip
        inventory = read_inventory(config.inventory_csv)
        table = low_stock(storage.read_parquet(key), inventory, file=Path(config.inventory_csv).name)
    prefix = keys.low_stock_prefix(month)
    storage.write_bytes(f"{prefix}/low_stock.csv", table.to_csv(index=False).encode())
    storage.write_parquet(f"{prefix}/low_stock.parquet", table)
    at_risk = int(table["at_risk"].sum())
    text = summary_text(table, month)
    context.log.info(text)
    sent = None
    if at_risk:
        sent = alerts.publish(
            "low_stock", f"Favorita: {at_risk} store x family pairs may run out ({month})",
            f"{text}\n\nTable: {storage.uri(prefix + '/low_stock.csv')}\nRun: {alerts.run_url(context.run_id)}",
            {"month": month, "at_risk": at_risk},
        )  # fmt: skip
    worst = "| store | family | on hand | lead time | P90 demand | shortfall |\n|---|---|---|---|---|---|\n" + "\n".join(
        f"| {r.store_nbr} | {r.family} | {r.on_hand:,.0f} | {r.lead_time_days} d | {r.demand_p90:,.0f} | {r.shortfall:,.0f} |"
        for r in table.head(15).itertuples()
    )
    yield Output(
        {"month": month, "at_risk": at_risk, "pairs": len(table), "alert": sent},
        metadata={
            "month": month,
            "pairs": len(table),
            "at_risk": at_risk,
            "alerted": alerts.describe() if sent else "nothing at risk: no alert",
            "table": MetadataValue.path(storage.uri(f"{prefix}/low_stock.csv")),
            "worst": MetadataValue.md(worst),
        },
    )


@job(description="Low-stock alerts from an inventory snapshot and the latest forecasts (P90 over the lead time).")
def low_stock_alerts():
    flag_low_stock()
