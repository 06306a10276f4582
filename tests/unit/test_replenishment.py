"""The replenishment plan: the demand over lead time + review period from the backtest's own errors on sums, the
order-up-to level, whole packs, the newsvendor, the flags."""

import math

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.inventory import INVENTORY_COLUMNS
from favorita_assets.core.replenishment import interval_residuals, order_statistic, plan, service_levels

H = 16


def forecasts(daily: float = 10.0, families=("DAIRY",), stores=range(1, 41)) -> pd.DataFrame:
    days = pd.date_range("2017-08-16", periods=H, freq="D")
    rows = [
        {"date": d.date(), "store_nbr": s, "family": f, "mean": daily, "model_version": "deepar-x"}
        for s in stores
        for f in families
        for d in days
    ]
    return pd.DataFrame(rows)


def backtest(factors: np.ndarray, daily: float = 10.0, windows: int = 3, families=("DAIRY",), stores=range(1, 41)):
    """Each series-window misses by one factor on every day (errors perfectly correlated across days)."""
    rows, i = [], 0
    for w in range(1, windows + 1):
        for s in stores:
            for f in families:
                for d in pd.date_range("2017-07-01", periods=H, freq="D") + pd.Timedelta(days=H * w):
                    rows.append(
                        {
                            "window": w,
                            "date": d,
                            "store_nbr": s,
                            "family": f,
                            "published_mean": daily,
                            "actual": daily * factors[i],
                        }
                    )
                i += 1
    return pd.DataFrame(rows)


def snapshot(**columns) -> pd.DataFrame:
    base = {
        "store_nbr": 1,
        "family": "DAIRY",
        "on_hand": 0.0,
        "on_order": 0.0,
        "lead_time_days": 3,
        "review_period_days": 7,
        "pack_size": np.nan,
        "target_service_level": np.nan,
        "unit_cost": np.nan,
        "holding_cost_rate": np.nan,
        "stockout_cost": np.nan,
        "unit_price": np.nan,
    }
    frame = pd.DataFrame([{**base, **row} for row in columns.pop("rows", [{}])])
    return frame[list(INVENTORY_COLUMNS)]


def test_the_sum_keeps_the_correlation_of_daily_errors_and_quantiles_are_conformal():
    rng = np.random.default_rng(0)
    factors = np.exp(rng.normal(0, 0.3, size=120))
    table = plan(forecasts(), backtest(factors), snapshot(), service_level=0.9)
    row = table.iloc[0]
    # 10 days of 10 units: the sum misses by the same factor as each day, so its P90 is 100 x the factors' P90 (in
    # log1p space); the sum of independent days would be far narrower, the sum of daily P90s equal to it only here.
    r = np.log1p(100 * factors) - np.log1p(100)
    # Every 10-day stretch of a 16-day window counts (7 per series and window, equal here: the miss is constant).
    pooled = np.sort(np.repeat(r, 7))
    expected = np.expm1(np.log1p(100) + pooled[math.ceil(841 * 0.9) - 1])
    assert row["residuals"] == 840 and row["residuals_from"] == "DAIRY" and not row["service_level_capped"]
    assert row["order_up_to"] == pytest.approx(expected)
    assert row["order_quantity"] == math.ceil(expected) and row["demand_p90"] == pytest.approx(
        np.quantile(np.expm1(np.log1p(100) + r), 0.9)
    )
    residuals = interval_residuals(backtest(factors), 10, overlapping=False)
    assert len(residuals) == 120 and residuals["r"].to_numpy() == pytest.approx(r)
    assert len(interval_residuals(backtest(factors), 10)) == 840


def test_orders_are_whole_packs_net_of_stock_and_never_negative():
    factors = np.ones(120)
    rows = [
        {"store_nbr": 1, "on_hand": 30, "on_order": 20, "pack_size": 12},  # needs 100 - 50 = 50 -> 60
        {"store_nbr": 2, "on_hand": 500, "on_order": 0},
    ]  # plenty: no order, overstocked
    table = plan(forecasts(), backtest(factors), snapshot(rows=rows), overstock_cover_days=30).set_index("store_nbr")
    assert table.loc[1, "order_up_to"] == pytest.approx(100) and table.loc[1, "order_quantity"] == 60
    assert (
        table.loc[2, "order_quantity"] == 0 and bool(table.loc[2, "overstock"]) and table.loc[2, "days_of_cover"] == 50
    )
    # 3 lead-time days of 10 units each against 50 in stock: no risk before arrival; the whole interval is short.
    assert table.loc[1, "p_stockout_before_arrival"] == 0 and table.loc[1, "p_stockout_no_order"] == 1
    assert not table.loc[1, "stockout_risk"]


def test_stockout_risk_is_the_lead_time_demand_against_stock_and_rows_are_worst_first():
    factors = np.exp(np.random.default_rng(1).normal(0, 0.2, size=120))
    rows = [{"store_nbr": 1, "on_hand": 1000}, {"store_nbr": 2, "on_hand": 5}, {"store_nbr": 3, "on_hand": 31}]
    table = plan(forecasts(), backtest(factors), snapshot(rows=rows))
    assert table["store_nbr"].tolist()[0] == 2 and table.iloc[0]["stockout_risk"]
    assert table.iloc[0]["p_stockout_before_arrival"] == 1.0
    assert table.set_index("store_nbr").loc[1, "overstock"] and table.iloc[-1]["store_nbr"] == 1


def test_the_service_level_comes_from_the_target_then_the_costs_then_the_default():
    inventory = snapshot(
        rows=[
            {"target_service_level": 0.8, "unit_cost": 2.0, "holding_cost_rate": 0.25, "stockout_cost": 1.0},
            {"store_nbr": 2, "unit_cost": 365.0, "holding_cost_rate": 1.0, "stockout_cost": 21.0},  # co = 7, cu = 21
            {"store_nbr": 3},
        ]
    )
    level, source = service_levels(inventory, 0.95)
    assert level.tolist() == pytest.approx([0.8, 0.75, 0.95]) and source.tolist() == ["target", "costs", "default"]
    table = plan(forecasts(), backtest(np.ones(120)), inventory).set_index("store_nbr")
    assert table.loc[2, "expected_units_short"] == pytest.approx(0) and table.loc[
        2, "expected_units_over"
    ] == pytest.approx(0)
    assert math.isnan(table.loc[3, "expected_cost"]) and table.loc[2, "expected_cost"] == pytest.approx(0)


def test_a_family_with_few_residuals_borrows_every_familys_and_a_long_interval_is_refused():
    stores = range(1, 2)
    fc = forecasts(families=("DAIRY", "BOOKS"), stores=stores)
    bt = backtest(np.ones(3 * 2), families=("DAIRY", "BOOKS"), stores=stores)
    row = plan(fc, bt, snapshot()).iloc[0]  # 3 windows x 7 stretches of 10 days: 21 of its own, 42 in all
    assert row["residuals"] == 42 and row["residuals_from"] == "all families"
    with pytest.raises(FavoritaDataError) as caught:
        plan(fc, bt, snapshot(rows=[{"lead_time_days": 10, "review_period_days": 7}]))
    assert "beyond the forecast horizon of 16 days" in str(caught.value) and caught.value.rows == [2]


def test_the_order_up_to_level_is_the_documented_order_statistic_and_a_capped_level_is_said():
    samples = np.arange(1.0, 37.0)[::-1]  # 36 samples, 1..36, in no particular order
    # level 0.8 of 36: the ceil(37 x 0.8) = 30th smallest, not the 31st.
    assert order_statistic(samples, 0.8) == (30.0, False)
    assert order_statistic(samples, 0.5) == (19.0, False)
    # ceil(37 x 0.95) = 36 = m: the largest sample, whatever level above about 94.6 % is asked: capped, and said.
    assert order_statistic(samples, 0.95) == (36.0, True) and order_statistic(samples, 0.99) == (36.0, True)


def test_overlapping_sums_are_every_stretch_of_each_window():
    bt = backtest(np.ones(3 * 2), stores=range(1, 3))
    bt.loc[(bt["window"] == 1) & (bt["store_nbr"] == 1), "actual"] = np.arange(1.0, 17.0)
    sums = interval_residuals(bt, 14)
    one = sums[(sums["window"] == 1) & (sums["store_nbr"] == 1)].sort_values("start")
    assert one["start"].tolist() == [1, 2, 3] and one["actual"].tolist() == [105.0, 119.0, 133.0]
    assert one["published_mean"].tolist() == [140.0, 140.0, 140.0] and len(sums) == 3 * 2 * 3


def test_the_plan_and_its_summary_say_when_the_level_is_capped():
    from favorita_assets.core.replenishment import summary_text

    stores = range(1, 2)
    fc = forecasts(stores=stores)
    bt = backtest(np.exp(np.random.default_rng(3).normal(0, 0.3, size=3)), windows=3, stores=stores)
    inventory = snapshot(rows=[{"lead_time_days": 9, "review_period_days": 7, "target_service_level": 0.99}])
    table = plan(fc, bt, inventory)  # 16-day sums: one per window, 3 samples: 0.99 cannot be told from the worst
    assert table.iloc[0]["residuals"] == 3 and table.iloc[0]["service_level_capped"]
    assert "too short to resolve" in summary_text(table, "2017-08")
    assert "too short" not in summary_text(plan(fc, bt, snapshot()).assign(service_level_capped=False), "2017-08")


def test_a_refused_value_reads_as_typed_not_as_a_numpy_repr():
    error = FavoritaDataError("inventory.csv", "a value is out of range", column="on_hand", value=np.int64(-5), fix="x")
    assert "value: -5" in str(error) and "np." not in str(error)


def test_money_at_risk_prices_the_expected_shortage_and_overstock_and_orders_the_plan():
    factors = np.exp(np.random.default_rng(4).normal(0, 0.4, size=120))
    rows = [
        {"store_nbr": 1, "on_hand": 1000},  # overstocked: no price, no money
        {"store_nbr": 2, "on_hand": 0, "unit_price": 2.0},  # priced, no cost: the price is the margin lost
        {
            "store_nbr": 3,
            "on_hand": 5000,
            "unit_cost": 3.0,
            "holding_cost_rate": 0.25,
            "stockout_cost": 1.0,
            "unit_price": 4.0,
        },
    ]
    table = plan(forecasts(), backtest(factors), snapshot(rows=rows), service_level=0.8).set_index("store_nbr")
    t2, t3 = table.loc[2], table.loc[3]
    assert math.isnan(table.loc[1, "money_at_risk"]) and math.isnan(table.loc[1, "order_value"])
    assert t2["money_at_risk"] == pytest.approx(t2["expected_units_short"] * 2.0) and math.isnan(t2["order_value"])
    holding = t3["expected_units_over"] * 3.0 * 0.25 * 7 / 365
    assert t3["money_at_risk"] == pytest.approx(t3["expected_units_short"] * 1.0 + holding) and holding > 0
    assert t3["order_value"] == 0 and t3["order_quantity"] == 0
    # The priced rows first, the larger money at risk first; unpriced rows after them.
    ordered = plan(forecasts(), backtest(factors), snapshot(rows=rows), service_level=0.8)["store_nbr"].tolist()
    assert ordered[-1] == 1 and ordered[:2] == sorted([2, 3], key=lambda s: -table.loc[s, "money_at_risk"])


def test_a_few_units_of_a_slow_family_do_not_top_the_overstock_list():
    factors = np.ones(120)
    rows = [
        {"store_nbr": 1, "family": "BOOKS", "on_hand": 3},  # sells nothing: 3 units is overstock, a small one
        {"store_nbr": 2, "family": "DAIRY", "on_hand": 900},
    ]
    fc = pd.concat([forecasts(families=("DAIRY",)), forecasts(daily=0.0, families=("BOOKS",))])
    bt = pd.concat([backtest(factors, families=("DAIRY",)), backtest(factors, daily=0.0, families=("BOOKS",))])
    table = plan(fc, bt, snapshot(rows=rows))
    assert table["overstock"].all()
    assert table["family"].tolist() == ["DAIRY", "BOOKS"]
