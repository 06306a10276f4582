"""Features for the forecast horizon, and where the promotion plan comes from."""

import pandas as pd

from favorita_assets.core.features import horizon_features, known_promotions

STORES = pd.DataFrame({"store_nbr": [1, 2], "city": ["Quito", "Cuenca"], "state": ["Pichincha", "Azuay"],
                       "type": ["D", "B"], "cluster": [13, 6]})  # fmt: skip
HOLIDAYS = pd.DataFrame(
    [("2017-12-26", "Additional", "National", "Ecuador", "Navidad+1", False),
     ("2017-12-24", "Holiday", "Local", "Cuenca", "Fiesta", False)],
    columns=["date", "type", "locale", "locale_name", "description", "transferred"],
).assign(date=lambda f: pd.to_datetime(f["date"]))  # fmt: skip
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
    history = pd.DataFrame({"store_nbr": 1, "family": "EGGS", "date": pd.date_range("2017-12-20", "2017-12-26"),
                            "onpromotion": range(7)})  # fmt: skip
    promos, source = known_promotions(test, history, HORIZON)
    assert source == "test.csv: 2 days, cleaned_series: 1 days"
    assert sorted(promos["onpromotion"].tolist()) == [3, 4, 6]
    assert known_promotions(None, history, HORIZON)[1] == "cleaned_series"
    assert known_promotions(None, history.iloc[:0], HORIZON)[1] == "none (assumed 0)"
    full = pd.DataFrame({"store_nbr": 1, "family": "EGGS", "date": HORIZON, "onpromotion": 1})
    assert known_promotions(full, history, HORIZON)[1] == "test.csv"
