"""The inventory snapshot's reader: CSV or Parquet, every refusal naming file, column, value and line."""

import pandas as pd
import pytest

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.inventory import INVENTORY_COLUMNS, check_series, example_snapshot, read_inventory

HEADER = "store_nbr,family,on_hand,on_order,lead_time_days,review_period_days"


def write(tmp_path, text: str, name: str = "inventory.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_csv_and_the_same_parquet_read_alike_with_optional_columns_added(tmp_path):
    csv = read_inventory(write(tmp_path, f"{HEADER},pack_size\n1,BEVERAGES,50,10,3,7,12\n2,DAIRY,5,0,2,7,\n"))
    assert list(csv.columns) == list(INVENTORY_COLUMNS)
    assert csv["pack_size"].tolist()[0] == 12 and pd.isna(csv["pack_size"].iloc[1]) and csv["unit_cost"].isna().all()
    csv.to_parquet(tmp_path / "inventory.parquet")
    pd.testing.assert_frame_equal(read_inventory(tmp_path / "inventory.parquet"), csv)


@pytest.mark.parametrize(
    "text, problem, column, value, line",
    [
        ("store_nbr,family,on_hand\n1,BEVERAGES,5\n", "a required column is missing", "on_order", None, None),
        (f"{HEADER}\n", "the file has a header but no rows", None, None, None),
        ("", "the file is empty", None, None, None),
        (f"{HEADER}\n1,BEVERAGES,-3,0,2,7\n", "a value is out of range", "on_hand", "-3", 2),
        (f"{HEADER}\n1,BEVERAGES,3,0,2,7\n1,DAIRY,x,0,2,7\n", "a value is not a number", "on_hand", "x", 3),
        (f"{HEADER}\n1,BEVERAGES,3,0,2.5,7\n", "a value is not an integer", "lead_time_days", "2.5", 2),
        (f"{HEADER}\n1,BEVERAGES,3,0,0,7\n", "a value is out of range", "lead_time_days", "0", 2),
        (f"{HEADER}\n1,BEVERAGES,3,0,2,\n", "a value is not an integer", "review_period_days", "", 2),
        (
            f"{HEADER}\n1,BEVERAGES,3,0,2,7\n1,BEVERAGES,4,0,2,7\n",
            "a store and family appear twice",
            "store_nbr, family",
            "1, BEVERAGES",
            3,
        ),
        (
            f"{HEADER},target_service_level\n1,BEVERAGES,3,0,2,7,1.2\n",
            "a value is out of range",
            "target_service_level",
            "1.2",
            2,
        ),
        (
            f"{HEADER},unit_cost,holding_cost_rate,stockout_cost\n1,BEVERAGES,3,0,2,7,2.5,,1\n",
            "a row gives some of the costs but not all",
            "holding_cost_rate",
            "",
            2,
        ),
        (f"{HEADER}\n1,,3,0,2,7\n", "a family is empty", "family", "", 2),
    ],
)
def test_bad_snapshots_are_refused_naming_file_column_value_and_line(tmp_path, text, problem, column, value, line):
    with pytest.raises(FavoritaDataError) as caught:
        read_inventory(write(tmp_path, text))
    error = caught.value
    assert error.file == "inventory.csv" and error.problem == problem and error.column == column
    if value is not None:
        assert str(error.value).strip() == value
    assert error.rows == ([line] if line else [])


def test_a_missing_file_and_unknown_series_are_refused(tmp_path):
    with pytest.raises(FavoritaDataError, match="file not found"):
        read_inventory(tmp_path / "nothing.csv")
    frame = read_inventory(write(tmp_path, f"{HEADER}\n1,BEVERAGES,3,0,2,7\n9,BEVERAGES,3,0,2,7\n"))
    with pytest.raises(FavoritaDataError) as caught:
        check_series(frame, {1, 2}, {(1, "BEVERAGES")}, "inventory.csv")
    assert (caught.value.column, caught.value.value, caught.value.rows) == ("store_nbr", 9, [3])
    with pytest.raises(FavoritaDataError) as caught:
        check_series(frame.assign(store_nbr=1, family=["BEVERAGES", "TOYS"]), {1}, {(1, "BEVERAGES")}, "inventory.csv")
    assert (caught.value.column, caught.value.value) == ("family", "TOYS")


def test_the_example_snapshot_is_valid_and_sized_from_sales(tmp_path):
    sales = pd.DataFrame(
        {"store_nbr": [1] * 28 + [2] * 28, "family": ["DAIRY"] * 56, "sales": [100.0] * 28 + [0.0] * 28}
    )
    snapshot = example_snapshot(sales, seed=3)
    snapshot.to_csv(tmp_path / "inventory.csv", index=False)
    back = read_inventory(tmp_path / "inventory.csv")
    assert len(back) == 2 and back.loc[back["store_nbr"] == 2, "on_hand"].item() == 0
    lead = back.loc[back["store_nbr"] == 1, "lead_time_days"].item()
    assert back.loc[back["store_nbr"] == 1, "on_hand"].item() in {
        50 * lead,
        100 * (lead + 3),
        100 * (lead + 7),
        100 * (lead + 12),
        5000,
    }
