"""The forecasts table Athena reads (infra/terraform/modules/etl) declares exactly the columns and types that every
forecasting path writes to Parquet. No terraform needed: the table is read from the module's source."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from favorita_assets.core.evaluation import forecast_frame
from infra.terraform import INFRA

GLUE_TYPES = {
    pa.date32(): "date",
    pa.int64(): "bigint",
    pa.string(): "string",
    pa.bool_(): "boolean",
    pa.float64(): "double",
    pa.float32(): "float",
}


def table_columns(name: str = "forecasts") -> list[tuple[str, str]]:
    text = (INFRA / "modules" / "etl" / "main.tf").read_text()
    table = text[text.index(f'resource "aws_glue_catalog_table" "{name}"') :]
    table = table[: table.index('\nresource "')]
    return re.findall(r'columns \{\s*name\s*=\s*"(\w+)"\s*type\s*=\s*"(\w+)"', table)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["gluonts float32", "sagemaker and baselines float64"])
def test_every_path_writes_the_columns_and_types_the_athena_table_declares(dtype):
    series = pd.DataFrame({"store_nbr": [1, 2], "family": ["EGGS", "BREAD/BAKERY"]})
    horizon = pd.date_range("2017-08-16", periods=3)
    mean = np.ones((2, 3), dtype=dtype)
    frame = forecast_frame(
        series, horizon, mean, {q: mean * q for q in (0.1, 0.5, 0.9)}, "deepar-x", closed=np.zeros((2, 3), dtype=bool)
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)  # what Storage.write_parquet writes
    schema = pq.read_schema(io.BytesIO(buffer.getvalue()))
    written = [(f.name, GLUE_TYPES.get(f.type, str(f.type))) for f in schema]
    assert written == table_columns()


def test_the_totals_table_declares_what_the_totals_frame_writes():
    from favorita_assets.core import hierarchy

    horizon = pd.date_range("2017-08-16", periods=3)
    mean = np.ones((4, 3))
    stores, families = np.array([1, 1, 2, 2]), np.array(["EGGS", "BEVERAGES", "EGGS", "BEVERAGES"])
    zero = {"low": 0.0, "mid": 0.0, "high": 0.0}
    offsets = {"total": {"all": zero}, "store": {"1": zero, "2": zero}, "family": {"EGGS": zero, "BEVERAGES": zero}}
    frame = hierarchy.totals_frame(horizon, mean, stores, families, offsets)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    schema = pq.read_schema(io.BytesIO(buffer.getvalue()))
    written = [(f.name, GLUE_TYPES.get(f.type, str(f.type))) for f in schema]
    assert written == table_columns("forecast_totals")
    # a null at the levels that have no store or no family, not 0 or "None"
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    assert (
        back.loc[back.level == "total", "store_nbr"].isna().all()
        and back.loc[back.level == "store", "family"].isna().all()
    )


def test_the_replenishment_table_declares_what_the_plan_writes():
    from favorita_assets.core.inventory import INVENTORY_COLUMNS
    from favorita_assets.core.replenishment import plan

    days = pd.date_range("2017-08-16", periods=16)
    forecasts = pd.DataFrame(
        {
            "date": np.tile(days.date, 2),
            "store_nbr": np.repeat([1, 2], 16),
            "family": "EGGS",
            "mean": 3.0,
            "model_version": "deepar-x",
        }
    )
    backtest = pd.DataFrame(
        {
            "window": 1,
            "date": np.tile(days, 2),
            "store_nbr": np.repeat([1, 2], 16),
            "family": "EGGS",
            "actual": 2.0,
            "published_mean": 3.0,
        }
    )
    snapshot = pd.DataFrame(
        {
            "store_nbr": [1, 2],
            "family": "EGGS",
            "on_hand": [0.0, 9.0],
            "on_order": 0.0,
            "lead_time_days": 2,
            "review_period_days": 7,
            "pack_size": [6.0, np.nan],
            "target_service_level": np.nan,
            "unit_cost": [1.0, np.nan],
            "holding_cost_rate": [0.2, np.nan],
            "stockout_cost": [0.5, np.nan],
            "unit_price": [1.5, np.nan],
        }
    )[list(INVENTORY_COLUMNS)]
    buffer = io.BytesIO()
    plan(forecasts, backtest, snapshot, forecast="adjusted by override set 0123456789ab").to_parquet(
        buffer, index=False
    )
    schema = pq.read_schema(io.BytesIO(buffer.getvalue()))
    written = [(f.name, GLUE_TYPES.get(f.type, str(f.type))) for f in schema]
    assert written == table_columns("replenishment_plan")


def _written(frame: pd.DataFrame) -> list[tuple[str, str]]:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)  # what Storage.write_parquet writes
    return [(f.name, GLUE_TYPES.get(f.type, str(f.type))) for f in pq.read_schema(io.BytesIO(buffer.getvalue()))]


def test_the_adjusted_and_track_record_tables_declare_what_their_assets_write():
    from favorita_assets.core import overrides
    from favorita_assets.core import value_added as fva

    series = pd.DataFrame({"store_nbr": [1, 2], "family": ["EGGS", "BREAD/BAKERY"]})
    horizon = pd.date_range("2017-08-16", periods=3)
    mean = np.ones((2, 3))
    fc = forecast_frame(series, horizon, mean, {q: mean * q for q in (0.1, 0.5, 0.9)}, "m", closed=mean == 0)
    rules = pd.DataFrame(
        [{"line": 2, "store_nbr": 1, "family": "EGGS", "start": horizon[0], "end": horizon[1], "kind": "quantity",
          "value": 4.0, "reason": "r", "planner": "p"}]
    )  # fmt: skip
    adjusted = overrides.adjust(fc, rules)
    assert _written(adjusted) == table_columns("adjusted_forecasts")
    actuals = fc[["date", "store_nbr", "family"]].assign(sales=2.0)
    naive = actuals.rename(columns={"sales": "naive"})
    ranges = pd.DataFrame({"family": ["EGGS"], "bias_low": -0.1, "bias_high": 0.1, "wape_high": 0.3})
    assert _written(fva.score_month("2017-07", adjusted, actuals, naive, ranges)) == table_columns(
        "forecast_value_added"
    )


def test_the_drivers_table_declares_what_forecast_drivers_writes():
    from favorita_assets.core import drivers

    dates = pd.date_range("2017-08-16", periods=2)
    explained = pd.DataFrame({"series": [0, 0, 1, 1], "date": list(dates) * 2, "forecast": 3.0, "baseline": 2.0})
    for name in drivers.DRIVERS:
        explained[name] = 1.0 / len(drivers.DRIVERS)
    series = pd.DataFrame({"store_nbr": [1, 2], "family": ["EGGS", "BREAD/BAKERY"]})
    published = pd.DataFrame(
        {"date": list(dates.date) * 2, "store_nbr": [1, 1, 2, 2], "family": ["EGGS"] * 2 + ["BREAD/BAKERY"] * 2}
    ).assign(mean=2.5)
    assert _written(drivers.drivers_table(explained, series, published)) == table_columns("forecast_drivers")
