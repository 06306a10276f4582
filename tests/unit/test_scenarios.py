"""Promotion scenarios: the file's refusals, the promotions written into the inference records, the lift."""

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core import scenarios
from favorita_assets.core.errors import FavoritaDataError

HORIZON = pd.date_range("2017-08-16", periods=16, freq="D")
HEADER = "store_nbr,family,start_date,end_date,onpromotion"


def read(tmp_path, text):
    path = tmp_path / "scenario.csv"
    path.write_text(text)
    return scenarios.read_scenario(path, {1, 2}, {"DAIRY", "BOOKS"}, HORIZON)


@pytest.mark.parametrize(
    "body, problem, column, value",
    [
        ("9,DAIRY,2017-08-18,2017-08-20,5", "unknown store: the forecasts hold no such store", "store_nbr", "9"),
        ("1,TOYS,2017-08-18,2017-08-20,5", "unknown family: the forecasts hold no such family", "family", "TOYS"),
        (
            "1,DAIRY,2017-08-10,2017-08-20,5",
            "a date is outside the forecast horizon 2017-08-16 .. 2017-08-31",
            "start_date",
            "2017-08-10",
        ),
        (
            "1,DAIRY,2017-08-18,2017-09-02,5",
            "a date is outside the forecast horizon 2017-08-16 .. 2017-08-31",
            "end_date",
            "2017-09-02",
        ),
        (
            "1,DAIRY,2017-08-20,2017-08-18,5",
            "start_date is after end_date",
            "start_date, end_date",
            "2017-08-20, 2017-08-18",
        ),
        ("1,DAIRY,2017-08-18,2017-08-20,-4", "onpromotion is negative", "onpromotion", "-4"),
        ("1,DAIRY,18/08/2017,2017-08-20,4", "a date is not YYYY-MM-DD", "start_date", "18/08/2017"),
    ],
)
def test_bad_scenarios_are_refused_naming_column_value_and_line(tmp_path, body, problem, column, value):
    with pytest.raises(FavoritaDataError) as caught:
        read(tmp_path, f"{HEADER}\n2,BOOKS,2017-08-16,2017-08-16,1\n{body}\n")
    assert (caught.value.problem, caught.value.column, str(caught.value.value), caught.value.rows) == (
        problem,
        column,
        value,
        [3],
    )


def test_a_day_promoted_twice_and_an_empty_file_are_refused(tmp_path):
    with pytest.raises(FavoritaDataError) as caught:
        read(tmp_path, f"{HEADER}\nall,DAIRY,2017-08-18,2017-08-20,5\n2,DAIRY,2017-08-20,2017-08-21,3\n")
    assert caught.value.problem == "two rows promote the same store, family and day" and caught.value.rows == [2, 3]
    with pytest.raises(FavoritaDataError, match="the file has a header but no rows"):
        read(tmp_path, f"{HEADER}\n")
    with pytest.raises(FavoritaDataError, match="a required column is missing"):
        read(tmp_path, "store_nbr,family\n1,DAIRY\n")


def test_the_scenario_sets_the_promotion_feature_of_its_series_and_days_only(tmp_path):
    table = read(tmp_path, f"{HEADER}\nall,DAIRY,2017-08-18,2017-08-19,20\n")
    changes = scenarios.expand(table, [1, 2])
    assert len(changes) == 4 and set(changes["store_nbr"]) == {1, 2}
    series = pd.DataFrame({"store_nbr": [1, 1, 2], "family": ["BOOKS", "DAIRY", "DAIRY"]})
    length = 30 + len(HORIZON)
    records = [{"target": [1.0] * 30, "dynamic_feat": [[0.0] * length for _ in range(5)]} for _ in range(3)]
    changed, rows = scenarios.apply(records, series, HORIZON, changes)
    assert rows.tolist() == [1, 2] and changed[0] is records[0]
    promo = np.array(changed[1]["dynamic_feat"][scenarios.PROMO_ROW])
    assert np.flatnonzero(promo).tolist() == [32, 33] and promo[32] == pytest.approx(np.log1p(20))
    assert records[1]["dynamic_feat"][scenarios.PROMO_ROW][32] == 0.0  # the base records are untouched


def test_the_lift_is_left_empty_where_the_model_ignores_promotions(tmp_path):
    table = read(tmp_path, f"{HEADER}\n1,DAIRY,2017-08-18,2017-08-19,20\n1,BOOKS,2017-08-18,2017-08-18,3\n")
    changes = scenarios.expand(table, [1, 2])
    series = pd.DataFrame({"store_nbr": [1, 1], "family": ["BOOKS", "DAIRY"]})
    n, h = 2, len(HORIZON)
    base = {
        "mean": np.full((n, h), 10.0),
        0.1: np.full((n, h), 6.0),
        0.5: np.full((n, h), 10.0),
        0.9: np.full((n, h), 14.0),
    }
    scen = {k: v * np.array([[1.0], [1.5]]) for k, v in base.items()}
    frame = scenarios.lift_frame(
        series,
        HORIZON,
        np.array([0, 1]),
        changes,
        base,
        scen,
        np.array(["croston", "deepar"]),
        np.array(["croston-x", "deepar-y"]),
        np.array([False, True]),
    )
    dairy = frame[frame["family"] == "DAIRY"]
    assert len(frame) == 3 and dairy["lift_mean"].tolist() == [5.0, 5.0]
    assert dairy["lift_p10"].tolist() == [3.0, 3.0] and dairy["lift_p90"].tolist() == [7.0, 7.0]
    assert frame.loc[frame["family"] == "BOOKS", "lift_mean"].isna().all()
    summary = scenarios.summarize(frame, {"croston": "Croston"}).set_index("family")
    assert summary.loc["DAIRY", "lift_units"] == 10.0 and summary.loc["DAIRY", "lift_pct"] == pytest.approx(0.5)
    assert np.isnan(summary.loc["BOOKS", "lift_units"]) and "does not use promotions" in summary.loc["BOOKS", "note"]
