"""Forecast value added: the naive baseline, the month's scores, the backtest's range and the alerts sent once."""

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core import value_added as fva

HORIZON = pd.date_range("2017-07-01", periods=7)


def test_the_naive_forecast_repeats_the_last_week_before_the_cutoff():
    days = pd.date_range("2017-06-17", "2017-06-30")
    history = pd.DataFrame({"date": days, "store_nbr": 1, "family": "EGGS", "sales": np.arange(len(days), dtype=float)})
    naive = fva.naive_forecast(history, pd.Timestamp("2017-06-30"), HORIZON)
    assert naive["naive"].tolist() == [7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0]
    assert (pd.to_datetime(naive["date"]) == HORIZON).all()


def month_frames(statistical: float, adjusted: float, sales: float = 10.0):
    rows = len(HORIZON)
    base = pd.DataFrame({"date": HORIZON.date, "store_nbr": 1, "family": "EGGS"})
    table = base.assign(
        mean=adjusted,
        p10=0.5 * adjusted,
        p90=1.5 * adjusted,
        statistical_mean=statistical,
        statistical_p10=0.5 * statistical,
        statistical_p90=1.5 * statistical,
        override_line=np.r_[np.full(3, 2), np.zeros(rows - 3, dtype=int)],
    )
    actuals = base.assign(sales=sales)
    naive = base.assign(naive=sales / 2)
    return table, actuals, naive


def test_a_month_is_scored_per_family_and_overall_for_the_three_forecasts():
    table, actuals, naive = month_frames(statistical=12.0, adjusted=10.0)
    ranges = pd.DataFrame({"family": ["EGGS", "ALL"], "bias_low": -0.1, "bias_high": 0.1, "wape_high": 0.3})
    scores = fva.score_month("2017-06", table, actuals, naive, ranges)
    assert list(scores.columns) == fva.SCORE_COLUMNS and len(scores) == 6
    eggs = scores[scores["family"] == "EGGS"].set_index("forecast")
    assert eggs.loc["statistical", "bias"] == pytest.approx(0.2) and eggs.loc["adjusted", "bias"] == 0.0
    assert eggs.loc["naive", "wape"] == pytest.approx(0.5) and np.isnan(eggs.loc["naive", "coverage"])
    assert eggs.loc["adjusted", "rmsle"] == 0.0 and eggs.loc["statistical", "coverage"] == 1.0
    assert eggs.loc["adjusted", "overridden_series_days"] == 3 and eggs.loc["adjusted", "bias_high"] == 0.1
    table = fva.last_months_table(scores)
    assert table["value_added_wape"].tolist() == pytest.approx([0.2])  # the override took 20 WAPE points off
    assert "| 2017-06 | 0.606 | 0.167 | 0.000 | 20.0% | 0.0% | +20.0% |" in fva.markdown(table)  # log(11 / 6) naive


def test_the_backtest_range_is_the_windows_widened_by_half_their_width():
    backtest = pd.DataFrame(
        {
            "window": [1, 1, 2, 2, 3, 3],
            "family": ["EGGS", "DAIRY"] * 3,
            "actual": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
            "published_mean": [11.0, 10.0, 9.0, 10.0, 10.0, 10.0],
        }
    )
    ranges = fva.backtest_ranges(backtest).set_index("family")
    assert (ranges.loc["EGGS", "bias_low"], ranges.loc["EGGS", "bias_high"]) == pytest.approx((-0.2, 0.2))
    assert (ranges.loc["DAIRY", "bias_low"], ranges.loc["DAIRY", "bias_high"]) == pytest.approx((-0.02, 0.02))
    assert ranges.loc["EGGS", "wape_high"] == pytest.approx(0.15)


def record(biases: list[float], wapes: list[float] | None = None) -> pd.DataFrame:
    months = [f"2017-0{i + 1}" for i in range(len(biases))]
    return pd.DataFrame(
        {
            "month": months,
            "family": "EGGS",
            "forecast": "statistical",
            "wape": wapes or [0.1] * len(biases),
            "actual_units": 100.0,
            "forecast_units": [100.0 * (1 + b) for b in biases],
            "bias_low": -0.05,
            "bias_high": 0.05,
            "wape_high": 0.2,
        }
    )


def test_a_cumulative_bias_beyond_range_is_found_with_its_start_and_alerted_once():
    assert fva.out_of_range(record([0.02, 0.04])) == []
    (alert,) = fva.out_of_range(record([0.0, 0.12, 0.1]))  # cumulative: 0, 6 %, 7.3 %
    assert (alert["kind"], alert["family"], alert["since"]) == ("bias", "EGGS", "2017-02")
    assert alert["value"] == pytest.approx(0.22 / 3) and alert["by"] == pytest.approx(0.22 / 3 - 0.05)
    assert (
        "EGGS: cumulative bias +7.3%, 2.3% above the backtest's range -5.0% .. +5.0%, since the 2017-02"
        in fva.alert_text(alert)
    )
    new, sent = fva.to_send([alert], {})
    assert new == [alert] and sent == {"EGGS/bias": "2017-02"}
    assert fva.to_send([alert], sent) == ([], sent)  # the next month, still out of range: no second alert
    assert fva.to_send([], sent) == ([], {})  # back in range: forgotten, so the next departure alerts again


def test_accuracy_drift_is_the_newest_months_wape_beyond_the_backtests_worst():
    (alert,) = fva.out_of_range(record([0.0, 0.0, 0.0], wapes=[0.1, 0.3, 0.35]))
    assert (alert["kind"], alert["since"], alert["by"]) == ("accuracy", "2017-02", pytest.approx(0.15))
    assert fva.out_of_range(record([0.0, 0.0], wapes=[0.3, 0.1])) == []  # back within range on the newest month
