"""Features for the forecast horizon, and where the promotion plan comes from."""

import numpy as np
import pandas as pd

from favorita_assets.core.features import horizon_features, known_promotions, weekday_promotions

STORES = pd.DataFrame(
    {
        "store_nbr": [1, 2],
        "city": ["Quito", "Cuenca"],
        "state": ["Pichincha", "Azuay"],
        "type": ["D", "B"],
        "cluster": [13, 6],
    }
)
HOLIDAYS = pd.DataFrame(
    [
        ("2017-12-26", "Additional", "National", "Ecuador", "Navidad+1", False),
        ("2017-12-24", "Holiday", "Local", "Cuenca", "Fiesta", False),
    ],
    columns=["date", "type", "locale", "locale_name", "description", "transferred"],
).assign(date=lambda f: pd.to_datetime(f["date"]))
SERIES = pd.DataFrame({"store_nbr": [1, 2], "family": ["EGGS", "EGGS"]})
HORIZON = pd.date_range("2017-12-24", periods=3, freq="D")


def test_calendar_features_per_store():
    grid = horizon_features(SERIES, HORIZON, STORES, HOLIDAYS).set_index(["store_nbr", "date"])
    assert grid.loc[(2, pd.Timestamp("2017-12-24")), "is_holiday"]  # Cuenca's local holiday
    assert not grid.loc[(1, pd.Timestamp("2017-12-24")), "is_holiday"]
    assert grid.loc[(1, pd.Timestamp("2017-12-26")), "is_holiday"]  # national additional day
    assert grid.xs(pd.Timestamp("2017-12-25"), level="date")["store_closed"].all()
    assert not grid["is_payday"].any() and (grid["onpromotion"] == 0).all()


def test_promotions_from_the_plan_fill_the_grid():
    plan = pd.DataFrame({"store_nbr": [2], "family": ["EGGS"], "date": [HORIZON[2]], "onpromotion": [9]})
    grid = horizon_features(SERIES, HORIZON, STORES, HOLIDAYS, plan)
    assert grid["onpromotion"].tolist() == [0, 0, 0, 0, 0, 9]


def test_known_promotions_say_where_they_come_from():
    test = pd.DataFrame({"store_nbr": 1, "family": "EGGS", "date": HORIZON[:2], "onpromotion": [3, 4]})
    history = pd.DataFrame(
        {"store_nbr": 1, "family": "EGGS", "date": pd.date_range("2017-12-20", "2017-12-26"), "onpromotion": range(7)}
    )
    promos, source = known_promotions(test, history, HORIZON)
    assert source == "test.csv: 2 days, cleaned_series: 1 days"
    assert sorted(promos["onpromotion"].tolist()) == [3, 4, 6]
    assert known_promotions(None, history, HORIZON)[1] == "cleaned_series"
    assert known_promotions(None, history.iloc[:0], HORIZON)[1] == "estimated (each series' last 4 weeks)"
    full = pd.DataFrame({"store_nbr": 1, "family": "EGGS", "date": HORIZON, "onpromotion": 1})
    assert known_promotions(full, history, HORIZON)[1] == "test.csv"


def test_yearly_closures_are_learned_from_every_year_and_known_ahead():
    from favorita_assets.core.features import known_closed, recurring_closures

    days = pd.date_range("2014-12-20", "2017-01-10", freq="D")
    cleaned = pd.DataFrame({"store_nbr": 1, "date": days}).assign(
        store_closed=lambda f: (f["date"].dt.strftime("%m-%d").isin(["01-01", "12-25"])) | (f["date"] == "2016-03-07")
    )
    cleaned = pd.concat(
        [cleaned, cleaned.assign(store_nbr=2, store_closed=cleaned["date"].dt.strftime("%m-%d") == "12-25")]
    )
    closures = recurring_closures(cleaned)
    # Store 1 closed on 1 January in 2015, 2016 and 2017: known ahead. 7 March 2016 happened once: not known.
    assert closures.values.tolist() == [[1, 1, 1]]
    assert recurring_closures(cleaned, before="2016-01-01").values.tolist() == []  # one 1 January seen: not enough
    dates = pd.to_datetime(["2018-01-01", "2018-01-01", "2017-12-25", "2017-03-07"])
    assert known_closed([1, 2, 2, 1], dates, closures).tolist() == [True, False, True, False]
    grid = horizon_features(SERIES, pd.date_range("2017-12-31", periods=2), STORES, HOLIDAYS, closures=closures)
    assert grid.set_index(["store_nbr", "date"])["store_closed"].tolist() == [False, True, False, False]


def test_unknown_promotions_are_each_weekdays_mean_over_the_last_four_weeks():
    weeks = np.array([[0, 0, 0, 0, 0, 4, 8]] * 3 + [[0, 0, 0, 0, 0, 8, 8]] + [[9] * 7] * 0, dtype=float).ravel()
    older = np.full(14, 50.0)  # more than four weeks back: not used
    estimate = weekday_promotions(np.concatenate([older, weeks]), 9)
    assert estimate.tolist() == [0, 0, 0, 0, 0, 5, 8, 0, 0]
    assert weekday_promotions(np.arange(10.0), 3).tolist() == [3, 4, 5]  # one whole week only: its last week
    assert weekday_promotions(np.ones(5), 3).tolist() == [0, 0, 0]  # not a week of history: nothing to go on
