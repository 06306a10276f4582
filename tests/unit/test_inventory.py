"""Low-stock rule and the inventory file's refusals."""

import pandas as pd
import pytest

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.inventory import low_stock, read_inventory, summary_text


def forecasts() -> pd.DataFrame:
    days = pd.date_range("2017-08-16", periods=4, freq="D")
    rows = []
    for store, family, p90 in ((1, "BEVERAGES", [10, 20, 30, 40]), (2, "DAIRY", [5, 5, 5, 5])):
        for day, q in zip(days, p90):
            rows.append({"date": day, "store_nbr": store, "family": family, "mean": q / 2, "p10": 0.0, "p50": q / 2, "p90": float(q)})
    return pd.DataFrame(rows)


def write(tmp_path, text: str):
    path = tmp_path / "inventory.csv"
    path.write_text(text)
    return path


def test_pairs_whose_p90_over_the_lead_time_exceeds_stock_are_flagged(tmp_path):
    inventory = read_inventory(write(tmp_path, "store_nbr,family,on_hand,lead_time_days\n1,BEVERAGES,50,3\n2,DAIRY,50,6\n"))
    table = low_stock(forecasts(), inventory)
    first, second = table.to_dict("records")
    # store 1: 10+20+30 = 60 > 50 over 3 days -> at risk, short 10; store 2: 4 days of 5 (horizon < lead time) = 20
    assert (first["store_nbr"], first["demand_p90"], first["shortfall"], first["at_risk"]) == (1, 60.0, 10.0, True)
    assert first["demand_mean"] == 30.0 and first["covered_days"] == 3
    assert (second["demand_p90"], second["covered_days"], second["at_risk"]) == (20.0, 4, False)
    text = summary_text(table, "2017-08")
    assert text.startswith("1 of 2 store x family pairs") and "store 1, BEVERAGES: on hand 50, P90 demand 60 over 3 days (short 10)" in text


@pytest.mark.parametrize(
    "text, column, value, line",
    [
        ("store_nbr,family,on_hand\n1,BEVERAGES,5\n", "lead_time_days", None, None),
        ("store_nbr,family,on_hand,lead_time_days\n1,BEVERAGES,-5,3\n", "on_hand", -5, 2),
        ("store_nbr,family,on_hand,lead_time_days\n1,BEVERAGES,5,3\nx,DAIRY,5,3\n", "store_nbr", "x", 3),
        ("store_nbr,family,on_hand,lead_time_days\n1,BEVERAGES,5,2.5\n", "lead_time_days", 2.5, 2),
        ("store_nbr,family,on_hand,lead_time_days\n1,BEVERAGES,5,3\n1,BEVERAGES,7,3\n", "store_nbr, family", "1, BEVERAGES", 3),
        ("store_nbr,family,on_hand,lead_time_days\n1,BEVERAGES,5,0\n", "lead_time_days", 0, 2),
    ],
)
def test_bad_inventory_is_refused_naming_column_value_and_line(tmp_path, text, column, value, line):
    with pytest.raises(FavoritaDataError) as caught:
        read_inventory(write(tmp_path, text))
    error = caught.value
    assert error.file == "inventory.csv" and error.column == column
    if value is not None:
        assert str(error.value) == str(value) and error.rows == [line]
    assert "what to do:" in str(error)


def test_empty_and_missing_files_and_unknown_stores_are_refused(tmp_path):
    with pytest.raises(FavoritaDataError, match="empty"):
        read_inventory(write(tmp_path, ""))
    with pytest.raises(FavoritaDataError, match="file not found"):
        read_inventory(tmp_path / "nope.csv")
    inventory = read_inventory(write(tmp_path, "store_nbr,family,on_hand,lead_time_days\n1,BEVERAGES,5,3\n99,DAIRY,5,3\n"))
    with pytest.raises(FavoritaDataError) as caught:
        low_stock(forecasts(), inventory)
    assert caught.value.column == "store_nbr" and caught.value.value == 99 and caught.value.rows == [3]
