"""cleaned_series on hand-made frames: the grid, the fills and flags, the features, and subset invariance."""

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core.cleaning import CLEANED_COLUMNS, clean_series, clean_tables, find_store_closures
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.schema import read_kaggle_csv

STORES = pd.DataFrame(
    {
        "store_nbr": [1, 2],
        "city": ["Quito", "Guayaquil"],
        "state": ["Pichincha", "Guayas"],
        "type": ["D", "A"],
        "cluster": [13, 5],
    }
)
OIL = pd.DataFrame({"date": pd.to_datetime(["2017-01-03", "2017-01-05"]), "dcoilwtico": [50.0, 52.0]})
HOLIDAYS = pd.DataFrame(
    [
        ("2017-01-02", "Transfer", "National", "Ecuador", "Traslado Primer dia del ano", False),
        ("2017-01-04", "Holiday", "Local", "Guayaquil", "Fiesta", False),
    ],
    columns=["date", "type", "locale", "locale_name", "description", "transferred"],
).assign(date=lambda f: pd.to_datetime(f["date"]))


def train(rows):
    return pd.DataFrame(rows, columns=["date", "store_nbr", "family", "sales", "onpromotion"]).assign(
        date=lambda f: pd.to_datetime(f["date"])
    )


SALES = train(
    [
        ("2017-01-01", 1, "EGGS", 0.0, 0),  # before the first sale: trimmed
        ("2017-01-02", 1, "EGGS", 5.0, 1),
        # 2017-01-03 missing for store 1 EGGS, but store 1 sold DAIRY that day: a missing row, not a closure
        ("2017-01-04", 1, "EGGS", 7.0, 0),
        ("2017-01-05", 1, "EGGS", 0.0, 0),  # store 1 sold nothing in any family: closed
        ("2017-01-02", 1, "DAIRY", 2.0, 0),
        ("2017-01-03", 1, "DAIRY", 3.0, 2),
        ("2017-01-04", 1, "DAIRY", 1.0, 0),
        ("2017-01-05", 1, "DAIRY", 0.0, 0),
        ("2017-01-04", 2, "EGGS", 9.0, 0),  # store 2 opens on the 4th
        ("2017-01-05", 2, "EGGS", 4.0, 0),
    ]
)


@pytest.fixture
def cleaned():
    return clean_series(SALES, STORES, OIL, HOLIDAYS, last_date="2017-01-06")


def row(frame, store, family, day):
    hit = frame[(frame.store_nbr == store) & (frame.family == family) & (frame.date == pd.Timestamp(day))]
    assert len(hit) == 1
    return hit.iloc[0]


def test_columns_and_order(cleaned):
    assert list(cleaned.columns) == CLEANED_COLUMNS
    keys = list(zip(cleaned.store_nbr, cleaned.family.astype(str), cleaned.date, strict=True))
    assert keys == sorted(keys)


def test_grid_from_first_sale_to_last_date(cleaned):
    spans = cleaned.groupby(["store_nbr", "family"], observed=True).date.agg(["min", "max", "size"])
    assert spans.loc[(1, "EGGS")].tolist() == [pd.Timestamp("2017-01-02"), pd.Timestamp("2017-01-06"), 5]
    assert spans.loc[(2, "EGGS")].tolist() == [pd.Timestamp("2017-01-04"), pd.Timestamp("2017-01-06"), 3]


def test_missing_rows_are_zero_and_flagged(cleaned):
    r = row(cleaned, 1, "EGGS", "2017-01-03")
    assert r.sales == 0 and r.is_missing_row and not r.store_closed
    r = row(cleaned, 1, "EGGS", "2017-01-06")  # after the data ends: padded to the last date
    assert r.sales == 0 and r.is_missing_row and r.store_closed


def test_closed_store_days_are_flagged(cleaned):
    assert row(cleaned, 1, "DAIRY", "2017-01-05").store_closed
    assert not row(cleaned, 2, "EGGS", "2017-01-05").store_closed


def test_oil_is_forward_and_back_filled(cleaned):
    assert row(cleaned, 1, "EGGS", "2017-01-02").dcoilwtico == 50.0  # back-filled before the first quote
    assert row(cleaned, 1, "EGGS", "2017-01-04").dcoilwtico == 50.0  # forward-filled over the gap
    assert row(cleaned, 1, "EGGS", "2017-01-06").dcoilwtico == 52.0


def test_holidays_promotions_calendar_and_store_metadata(cleaned):
    r = row(cleaned, 1, "EGGS", "2017-01-02")
    assert r.holiday_national and r.is_holiday and r.onpromotion == 1 and r.day_of_week == 0
    assert not row(cleaned, 1, "EGGS", "2017-01-04").holiday_local
    r = row(cleaned, 2, "EGGS", "2017-01-04")
    assert r.holiday_local and r.is_holiday and r.city == "Guayaquil" and r.store_type == "A" and r.cluster == 5
    assert not row(cleaned, 1, "EGGS", "2017-01-05").is_payday
    assert row(cleaned, 1, "DAIRY", "2017-01-03").onpromotion == 2


def test_payday_on_the_15th_and_month_end():
    days = pd.date_range("2017-01-14", "2017-02-01", freq="D")
    sales = train([(d, 1, "EGGS", 1.0, 0) for d in days])
    out = clean_series(sales, STORES, OIL, HOLIDAYS)
    assert sorted(out.loc[out.is_payday, "date"].dt.day.tolist()) == [15, 31]


def test_result_does_not_depend_on_row_order(cleaned):
    shuffled = SALES.sample(frac=1.0, random_state=3)
    again = clean_series(shuffled, STORES, OIL, HOLIDAYS, last_date="2017-01-06")
    pd.testing.assert_frame_equal(again, cleaned)


def test_one_series_at_a_time_gives_the_same_rows(cleaned):
    """What Spark's applyInPandas does: clean each series alone, with closures computed across families."""
    closures = find_store_closures(SALES, "2017-01-06")
    parts = [
        clean_series(group, STORES, OIL, HOLIDAYS, last_date="2017-01-06", closures=closures)
        for _, group in SALES.groupby(["store_nbr", "family"])
    ]
    together = pd.concat(parts).astype({"family": str, "city": str, "state": str, "store_type": str})
    expected = cleaned.astype({"family": str, "city": str, "state": str, "store_type": str})
    pd.testing.assert_frame_equal(together.reset_index(drop=True), expected.reset_index(drop=True))


def test_single_family_data_set():
    only = SALES[SALES.family == "EGGS"]
    out = clean_series(only, STORES, OIL, HOLIDAYS)
    assert set(out.family) == {"EGGS"} and out.family.cat.categories.tolist() == ["EGGS"]


def test_rows_after_last_date_are_cut():
    out = clean_series(SALES, STORES, OIL, HOLIDAYS, last_date="2017-01-03")
    assert out.date.max() == pd.Timestamp("2017-01-03")


def test_a_long_calendar_gap_is_refused():
    sales = train([("2017-01-01", 1, "EGGS", 1.0, 0), ("2017-01-20", 1, "EGGS", 1.0, 0)])
    with pytest.raises(FavoritaDataError) as err:
        clean_series(sales, STORES, OIL, HOLIDAYS)
    assert err.value.column == "date" and "18 consecutive days" in str(err.value)


@pytest.mark.parametrize(
    "bad, column",
    [
        (train([("2017-01-02", 1, "EGGS", 1.0, 0), ("2017-01-02", 1, "EGGS", 2.0, 0)]), "date, store_nbr, family"),
        (train([("2017-01-02", 1, "EGGS", -1.0, 0)]), "sales"),
        (train([("2017-01-02", 7, "EGGS", 1.0, 0)]), "store_nbr"),
    ],
)
def test_bad_rows_are_refused_with_their_column(bad, column):
    with pytest.raises(FavoritaDataError) as err:
        clean_series(bad, STORES, OIL, HOLIDAYS)
    assert err.value.column == column and err.value.file == "train.csv"


def test_oil_without_any_price_is_refused():
    oil = OIL.assign(dcoilwtico=np.nan)
    with pytest.raises(FavoritaDataError, match="no oil price"):
        clean_series(SALES, STORES, oil, HOLIDAYS)


def test_clean_tables_on_generated_files(small_data_dir):
    frames = {t: read_kaggle_csv(small_data_dir / f"{t}.csv", t) for t in ("train", "stores", "oil", "holidays_events")}
    out = clean_tables(frames)
    assert out.groupby(["store_nbr", "family"], observed=True).ngroups == 12
    assert out.date.max() == pd.Timestamp("2017-08-15")
    assert not out[CLEANED_COLUMNS[3:]].isna().any().any()
    assert out.loc[out.date.dt.strftime("%m-%d") == "12-25", "is_missing_row"].all()
