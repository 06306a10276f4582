"""The generator: Kaggle's exact schema and ordering, determinism, and the demand patterns it promises."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core.sample_data import generate, train_calendar, write_sample_data
from favorita_assets.core.schema import KAGGLE_FILES


@pytest.fixture(scope="module")
def tables():
    return generate(n_stores=12, n_families=12, start="2014-01-01", end="2017-08-15", seed=3)


def test_full_size_calendar_gives_kaggle_row_count():
    assert len(train_calendar("2013-01-01", "2017-08-15")) * 54 * 33 == 3_000_888


def test_written_files_have_kaggle_headers_ids_and_quoting(small_data_dir):
    for name, spec in KAGGLE_FILES.items():
        header = (small_data_dir / spec.filename).read_text().splitlines()[0]
        assert header == ",".join(spec.columns), name
    train = pd.read_csv(small_data_dir / "train.csv")
    test = pd.read_csv(small_data_dir / "test.csv")
    assert train["id"].tolist() == list(range(len(train)))
    assert test["id"].iloc[0] == len(train) and test["id"].is_monotonic_increasing
    assert len(test) == 16 * 3 * 4 and test["date"].nunique() == 16
    assert test["date"].min() == "2017-08-16" and test["date"].max() == "2017-08-31"


def test_liquor_family_is_quoted_like_kaggle(tmp_path):
    write_sample_data(tmp_path, n_stores=1, n_families=7, start="2017-08-01", end="2017-08-02")
    assert '"LIQUOR,WINE,BEER"' in (tmp_path / "train.csv").read_text()


def test_row_order_is_date_then_store_as_text_then_family(tables):
    train = tables["train"]
    first_day = train[train["date"] == train["date"].iloc[0]]
    stores = first_day["store_nbr"].drop_duplicates().tolist()
    assert stores == sorted(stores, key=str)
    assert first_day[first_day.store_nbr == 1]["family"].astype(str).tolist() == sorted(
        train["family"].astype(str).unique()
    )


def test_deterministic_per_seed(tmp_path):
    def digest(seed, folder):
        write_sample_data(folder, n_stores=2, n_families=3, start="2017-01-01", end="2017-03-01", seed=seed)
        return hashlib.sha256((folder / "train.csv").read_bytes()).hexdigest()

    assert digest(1, tmp_path / "a") == digest(1, tmp_path / "b")
    assert digest(1, tmp_path / "a") != digest(2, tmp_path / "c")


def test_christmas_is_absent_and_new_year_is_nearly_empty(tables):
    train = tables["train"]
    dates = pd.to_datetime(train["date"].astype(str))
    assert not ((dates.dt.month == 12) & (dates.dt.day == 25)).any()
    new_year = train.loc[(dates.dt.month == 1) & (dates.dt.day == 1), "sales"].mean()
    assert new_year < 0.2 * train["sales"].mean()


def daily(tables):
    train = tables["train"].assign(date=lambda f: pd.to_datetime(f["date"].astype(str)))
    return train


def test_weekends_sell_more(tables):
    train = daily(tables)
    grocery = train[train.family == "GROCERY I"]
    by_day = grocery.groupby(grocery.date.dt.dayofweek)["sales"].mean()
    assert by_day[[5, 6]].mean() > 1.15 * by_day[[1, 2, 3]].mean()


def test_paydays_and_december_peak(tables):
    train = daily(tables)
    grocery = train[(train.family == "GROCERY I") & (train.sales > 0)]
    payday = grocery.date.dt.day.eq(15) | grocery.date.dt.is_month_end
    assert grocery[payday].sales.mean() > 1.05 * grocery[~payday & grocery.date.dt.day.between(3, 12)].sales.mean()
    december = grocery.date.dt.month.eq(12) & grocery.date.dt.day.between(15, 24)
    assert grocery[december].sales.mean() > 1.15 * grocery[grocery.date.dt.month.isin([10, 11])].sales.mean()


def test_promotions_lift_sales(tables):
    train = daily(tables)
    beverages = train[(train.family == "BEVERAGES") & (train.date >= "2015-01-01") & (train.sales > 0)]
    promoted = beverages.onpromotion > 0
    assert beverages[promoted].sales.median() > 1.1 * beverages[~promoted].sales.median()
    assert (train.loc[train.date < "2014-04-01", "onpromotion"] == 0).all()


def test_family_scale_and_sparse_families(tables):
    train = daily(tables)
    means = train.groupby("family", observed=True).sales.mean()
    assert means["GROCERY I"] > 1000 * means["BOOKS"]
    assert (train.loc[train.family == "BOOKS", "sales"] == 0).mean() > 0.9
    weighed = train.loc[train.family == "PRODUCE", "sales"]
    assert (weighed != np.round(weighed)).mean() > 0.5  # sold by weight: fractional


def test_some_stores_open_partway_with_zeros_before():
    full = generate(n_stores=54, n_families=2, start="2013-01-01", end="2017-08-15", seed=0)["train"]
    full = full.assign(date=pd.to_datetime(full["date"].astype(str)))
    first_sale = full[full.sales > 0].groupby("store_nbr").date.min()
    late = first_sale[first_sale > pd.Timestamp("2013-03-01")]
    assert len(late) >= 2
    store = late.index[0]
    before = full[(full.store_nbr == store) & (full.date < late[store])]
    assert len(before) > 0 and (before.sales == 0).all()


def test_store_level_trends_differ():
    train = generate(n_stores=10, n_families=1, start="2013-01-01", end="2017-08-15", seed=5)["train"]
    train = train.assign(year=pd.to_datetime(train["date"].astype(str)).dt.year)
    yearly = train[train.sales > 0].groupby(["store_nbr", "year"]).sales.mean().unstack()
    growth = yearly[2016] / yearly[2014]
    assert growth.max() / growth.min() > 1.15


def test_holiday_table_has_kaggle_types_and_transfers(tables):
    holidays = tables["holidays_events"]
    assert set(holidays["type"]) >= {"Holiday", "Transfer", "Additional", "Bridge", "Work Day", "Event"}
    assert set(holidays["locale"]) == {"National", "Regional", "Local"}
    transferred = holidays[holidays.transferred]
    assert len(transferred) > 0 and len(holidays[holidays.type == "Transfer"]) == len(transferred)


def test_a_chain_bigger_than_favorita_gets_realistic_stores():
    tables = generate(n_stores=300, n_families=1, start="2017-07-01", end="2017-08-15", seed=2)
    stores = tables["stores"]
    assert stores["store_nbr"].tolist() == list(range(1, 301))
    assert set(stores["type"]) == set("ABCDE") and set(stores["cluster"]) <= set(range(1, 18))
    assert stores.groupby("city")["state"].nunique().max() == 1  # a city lies in one state
    counts = stores["city"].value_counts()
    assert (
        counts.index[0] == "Quito" and counts["Quito"] > counts["Guayaquil"] > counts["Loja"]
    )  # big cities, more stores
    assert stores["city"].nunique() > 30  # towns Favorita is not in
    assert set(tables["train"]["store_nbr"]) == set(stores["store_nbr"])
    assert len(tables["train"]) == 300 * tables["train"]["date"].nunique()
    local = tables["holidays_events"].query("locale == 'Local'")
    assert set(local["locale_name"]) == set(stores["city"])  # every town keeps its own foundation day


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="--stores"):
        generate(n_stores=1001)
    with pytest.raises(ValueError, match="--families"):
        generate(n_families=0)
