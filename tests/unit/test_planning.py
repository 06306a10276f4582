"""The replenishment plan's plain parts (favorita_assets/decisions/planning.py): rows the horizon can plan, the
checks, the materialization's counts and table, the snapshot's store check."""

import numpy as np
import pandas as pd
import pytest
from test_replenishment import backtest, forecasts, snapshot

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.replenishment import plan
from favorita_assets.decisions import planning


def planned(rows):
    frame = snapshot(rows=rows)
    fc = forecasts()
    kept, left_out, horizon = planning.split_by_horizon(frame, fc)
    return plan(fc, backtest(np.ones(120)), kept), kept, left_out, horizon


def test_rows_beyond_the_horizon_are_left_out_and_named_by_the_check():
    table, kept, left_out, horizon = planned(
        [
            {"store_nbr": 1, "on_hand": 30, "pack_size": 12},
            {"store_nbr": 2, "lead_time_days": 10, "review_period_days": 7},
        ]
    )
    assert horizon == 16 and list(kept["store_nbr"]) == [1] and list(left_out["store_nbr"]) == [2]
    whole, every, risk = planning.plan_checks(table, kept, left_out, horizon)
    assert (whole.name, whole.passed, whole.severity) == ("orders_are_whole_packs", True, "ERROR")
    assert (every.name, every.passed, every.severity) == ("every_snapshot_row_planned", False, "WARN")
    assert every.description == (
        "1 plan rows for 2 snapshot rows; 1 rows left out, their lead time + review period beyond the 16-day "
        "horizon: store 2 DAIRY"
    )
    assert risk.name == "stockout_risk_share" and risk.description.endswith(
        "risk a stockout before an order can arrive"
    )
    assert "2 snapshot rows need" not in planning.left_out_warning(left_out, horizon)
    assert planning.left_out_warning(left_out, horizon).startswith("1 snapshot rows need lead time + review period")


def test_the_checks_fail_on_a_broken_plan():
    table, kept, left_out, horizon = planned([{"store_nbr": 1, "pack_size": 12}, {"store_nbr": 2}])
    every_ok = planning.plan_checks(table, kept, left_out, horizon)[1]
    assert every_ok.passed and every_ok.description == "2 plan rows for 2 snapshot rows"
    broken = table.assign(order_quantity=table["order_quantity"] - 1, demand_p90=np.nan)
    whole, every, _ = planning.plan_checks(broken, kept, left_out, horizon)
    assert not whole.passed and not every.passed and every.severity == "ERROR"
    risky = table.assign(stockout_risk=True)
    assert not planning.plan_checks(risky, kept, left_out, horizon)[2].passed


def test_counts_and_the_worst_table():
    table, _, left_out, _ = planned(
        [{"store_nbr": 1, "on_hand": 30, "pack_size": 12}, {"store_nbr": 2, "on_hand": 500}]
    )
    counts = planning.plan_counts(table, left_out)
    assert counts["pairs"] == 2 and counts["left_out_beyond_horizon"] == 0 and counts["orders"] == 1
    assert counts["units_to_order"] == pytest.approx(table["order_quantity"].sum())
    lines = planning.worst_table(table).splitlines()
    assert lines[0].startswith("| store | family | flag |") and len(lines) == 2 + 2
    assert len(planning.worst_table(table, rows=1).splitlines()) == 3


def test_no_plan_checks_say_why():
    every, whole, risk = planning.no_plan_checks(planning.NO_SNAPSHOT, passed=True)
    assert (every.name, every.passed, every.description) == ("every_snapshot_row_planned", True, planning.NO_SNAPSHOT)
    assert {whole.name, risk.name} == {"orders_are_whole_packs", "stockout_risk_share"}
    assert whole.passed and risk.description == "nothing planned"
    assert "16-day horizon" in planning.short_horizon_reason(16)


def test_an_unknown_store_is_refused_naming_its_line():
    frame = snapshot(rows=[{"store_nbr": 1}, {"store_nbr": 99}])
    with pytest.raises(FavoritaDataError) as refused:
        planning.check_stores(frame, pd.DataFrame({"store_nbr": [1, 2]}), "inventory.csv")
    text = str(refused.value)
    assert "inventory.csv" in text and "unknown store" in text and "99" in text and "3" in text
    planning.check_stores(frame.head(1), pd.DataFrame({"store_nbr": [1, 2]}), "inventory.csv")


def test_the_what_if_table_shows_each_line_and_says_why_a_line_has_no_lift():
    from favorita_assets.decisions.whatif import what_if_table

    row = {"scenario_row": 2, "family": "DAIRY", "stores": 3, "first_date": "2017-08-16", "last_date": "2017-08-20"}
    lifted = {**row, "base_units": 1234.4, "lift_units": 120.0, "lift_p10": 80.0, "lift_p90": 160.0, "lift_pct": 0.0972}
    flat = {**row, "base_units": 10.0, "lift_units": None, "note": "no candidate of this family uses promotions"}
    lines = what_if_table([lifted, flat]).splitlines()
    assert lines[0].startswith("| line | family |") and len(lines) == 4
    assert lines[2] == "| 2 | DAIRY | 3 | 2017-08-16 .. 2017-08-20 | 1,234 | 120 | 80 .. 160 | +9.7% |"
    assert lines[3].endswith("| 10 | — | — | no candidate of this family uses promotions |")
