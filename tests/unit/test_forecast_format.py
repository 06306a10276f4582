"""Amazon Forecast's shape: the three dataset files from the test and inference channels, and export files read back."""

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core.deepar_format import DYNAMIC_FEATURES, CategoryEncoding, compact_record, to_json_lines
from favorita_assets.core.forecast_format import (
    SCHEMAS,
    ForecastFormatError,
    check_item_ids,
    first_forecast_day,
    forecasts_for,
    item_id,
    read_export,
    record_item,
    record_rows,
    write_dataset_files,
    write_datasets_from_channel,
)

ENCODING = CategoryEncoding(
    store_nbr=[1, 44], family=["BREAD/BAKERY", "LIQUOR,WINE,BEER"], store_type=["A", "D"], cluster=[5, 13]
)
H = 2


def record(store=0, family=1, target=(3.0, "NaN", 7.5), start="2017-08-13 00:00:00"):
    n = len(target) + H
    feats = [
        [round(float(np.log1p(i % 3)), 4) for i in range(n)],
        [int(i == 1) for i in range(n)],
        [0] * n,
        [int(i == 2) for i in range(n)],
        [int(i == 1) for i in range(n)],
    ]
    return {"start": start, "target": list(target), "cat": [store, family, 1, 0], "dynamic_feat": feats}


def test_one_record_is_its_target_related_and_item_rows():
    target, related, item = record_rows(record(), ENCODING)
    assert target == [
        "1_LIQUOR_WINE_BEER,2017-08-13,3",
        "1_LIQUOR_WINE_BEER,2017-08-14,",
        "1_LIQUOR_WINE_BEER,2017-08-15,7.5",
    ]
    # Every day of history and horizon, the features in the related schema's order (after item_id and timestamp).
    assert [row.split(",")[1] for row in related] == [
        "2017-08-13",
        "2017-08-14",
        "2017-08-15",
        "2017-08-16",
        "2017-08-17",
    ]
    assert related[1] == "1_LIQUOR_WINE_BEER,2017-08-14,0.6931,1,0,0,1"
    assert [a["AttributeName"] for a in SCHEMAS["related"]["Attributes"][2:]] == list(DYNAMIC_FEATURES)
    assert item == "1_LIQUOR_WINE_BEER,1,LIQUOR_WINE_BEER,D,5"
    assert len(item.split(",")) == len(SCHEMAS["items"]["Attributes"])  # no field holds a comma


def test_the_files_stream_series_by_series_and_compact_records_give_the_same_rows(tmp_path):
    records = [record(0, 0), record(1, 1, target=(1.0, 2.0, 3.0, 4.0), start="2017-08-12 00:00:00")]
    paths, counts = write_dataset_files(records, ENCODING, tmp_path / "a", H)
    again, _ = write_dataset_files([compact_record(r) for r in records], ENCODING, tmp_path / "b", H)
    for name in paths:
        assert paths[name].read_bytes() == again[name].read_bytes(), name
    assert paths["items"].read_text().splitlines() == [
        "1_BREAD_BAKERY,1,BREAD_BAKERY,D,5",
        "44_LIQUOR_WINE_BEER,44,LIQUOR_WINE_BEER,D,5",
    ]
    assert (counts.series, counts.target_rows, counts.related_rows) == (2, 7, 11)
    assert (counts.first_day, counts.last_day, counts.related_last_day) == ("2017-08-12", "2017-08-15", "2017-08-17")
    # From the channels' files, as the channel builders call it: the test records (history only) give the same rows
    # when their features are the inference records' history.
    channel, test = tmp_path / "inference.json", tmp_path / "test.json"
    channel.write_bytes(to_json_lines(records))
    test.write_bytes(
        to_json_lines([{**r, "dynamic_feat": [row[: len(r["target"])] for row in r["dynamic_feat"]]} for r in records])
    )
    files, summary = write_datasets_from_channel([test], [channel], ENCODING.to_dict(), tmp_path / "c", H)
    assert files["related"].read_bytes() == paths["related"].read_bytes() and summary["series"] == 2


def test_a_closure_inside_a_backtest_window_is_not_in_forecasts_related_data_but_a_known_one_is(tmp_path):
    """DeepAR and the challengers are scored on the backtest windows with only the closures known in advance; so is
    Amazon Forecast's backtest: its related data takes the history from the test channel, the horizon from the
    inference channel."""
    from unit.test_deepar_format import HOLIDAYS, STORES, cleaned_frame
    from unit.test_deepar_format import H as DH

    from favorita_assets.core.deepar_format import build_channels
    from favorita_assets.core.features import horizon_features

    cleaned, cutoff = cleaned_frame(), pd.Timestamp("2016-12-24")
    horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=DH, freq="D")
    future = horizon_features(cleaned[["store_nbr", "family"]], horizon, STORES, HOLIDAYS, None)
    channels = build_channels(cleaned, cutoff, DH, future)
    for name in ("test", "inference"):
        (tmp_path / f"{name}.json").write_bytes(to_json_lines(getattr(channels, name)))
    files, _ = write_datasets_from_channel(
        [tmp_path / "test.json"], [tmp_path / "inference.json"], channels.encoding, tmp_path / "out", DH
    )
    closed = {
        (row[0], row[1]): row[-1]
        for row in (line.split(",") for line in files["related"].read_text().splitlines())
        if row[0].startswith("2_")
    }
    closed_column = list(DYNAMIC_FEATURES).index("store_closed")
    assert closed_column == len(DYNAMIC_FEATURES) - 1  # the last field of a related row
    assert closed[("2_EGGS", "2016-12-23")] == "0"  # store 2 closed inside the backtest window: not known ahead
    assert closed[("2_EGGS", "2016-12-20")] == "1"  # closed before the window: history, known
    inference = channels.inference[2]["dynamic_feat"][closed_column]
    assert inference[13] == 1.0  # what the inference channel carries there (the closure later observed)
    # The horizon's days come from the inference channel.
    assert [day for (item, day) in closed if item == "2_EGGS"][-DH:] == [f"{d:%Y-%m-%d}" for d in horizon]


def test_channels_out_of_step_are_refused(tmp_path):
    a, b = record(0, 0), record(1, 1)
    history = [{**r, "dynamic_feat": [row[: len(r["target"])] for row in r["dynamic_feat"]]} for r in (a, b)]
    (tmp_path / "i.json").write_bytes(to_json_lines([a, b]))
    (tmp_path / "t.json").write_bytes(to_json_lines(history[::-1]))
    with pytest.raises(ForecastFormatError, match="not in the same series order"):
        write_datasets_from_channel([tmp_path / "t.json"], [tmp_path / "i.json"], ENCODING, tmp_path / "x", H)
    (tmp_path / "t.json").write_bytes(to_json_lines(history[:1]))
    with pytest.raises(ForecastFormatError, match="different numbers of series"):
        write_datasets_from_channel([tmp_path / "t.json"], [tmp_path / "i.json"], ENCODING, tmp_path / "y", H)


def test_features_short_of_the_horizon_and_colliding_families_are_refused(tmp_path):
    short = record()
    short["dynamic_feat"] = [row[:-1] for row in short["dynamic_feat"]]
    with pytest.raises(ForecastFormatError, match="reach 1 days past the target, not the horizon's 2"):
        write_dataset_files([short], ENCODING, tmp_path, H)
    clash = CategoryEncoding(store_nbr=[1], family=["BREAD/BAKERY", "BREAD BAKERY"], store_type=["A"], cluster=[1])
    with pytest.raises(ForecastFormatError, match="'BREAD/BAKERY' and 'BREAD BAKERY' are both 'BREAD_BAKERY'"):
        check_item_ids(clash)


FORECAST_HEADER = "item_id,date,p10,p50,p90,mean\n"
BACKTEST_HEADER = "item_id,timestamp,target_value,backtestwindow_start_time,backtestwindow_end_time,p10,p50,p90,mean\n"


def test_a_forecast_export_in_parts_is_read_by_name_in_request_order():
    part0 = (
        FORECAST_HEADER
        + "1_BREAD_BAKERY,2017-08-16T00:00:00Z,1.0,2.0,3.0,2.1\n1_BREAD_BAKERY,2017-08-17T00:00:00Z,-0.5,2.5,4.0,2.6\n"
    )
    part1 = (
        "item_id,p90,p50,p10,mean,date\n"  # columns found by name, in any order
        "44_LIQUOR_WINE_BEER,9,8,7,8.2,2017-08-17T00:00:00Z\n44_LIQUOR_WINE_BEER,6,5,4,5.1,2017-08-16T00:00:00Z\n"
    )
    table = read_export(
        [("part0.csv", part0.encode()), ("part1.csv", part1.encode()), ("empty.csv", b"")], backtest=False
    )
    first = pd.Timestamp("2017-08-16")
    out = forecasts_for(
        table, [("44_LIQUOR_WINE_BEER", first), ("1_BREAD_BAKERY", first)], H, (0.1, 0.5, 0.9), "forecast export"
    )
    assert (
        out[0]["mean"].tolist() == [5.1, 8.2]
        and out[0][0.1].tolist() == [4.0, 7.0]
        and out[0][0.9].tolist() == [6.0, 9.0]
    )
    assert out[1][0.1].tolist() == [1.0, 0.0]  # clipped at 0, as every backend's forecasts
    with pytest.raises(ForecastFormatError, match="no forecast of 1_BREAD_BAKERY on 2017-08-18"):
        forecasts_for(table, [("1_BREAD_BAKERY", first)], 3, (0.5,), "forecast export")
    with pytest.raises(ForecastFormatError, match="holds no forecast of 2_EGGS"):
        forecasts_for(table, [("2_EGGS", first)], H, (0.5,), "forecast export")


def test_a_backtest_export_is_matched_on_each_window_start():
    rows = "".join(
        f"1_BREAD_BAKERY,{day}T00:00:00Z,5.0,{start}T00:00:00,{end}T00:00:00,{v},{v + 1},{v + 2},{v + 1.5}\n"
        for start, end, days, v in (
            ("2017-08-12", "2017-08-13", ("2017-08-12", "2017-08-13"), 1),
            ("2017-08-14", "2017-08-15", ("2017-08-14", "2017-08-15"), 10),
        )
        for day in days
    )
    table = read_export([("forecasted-values/part0.csv", (BACKTEST_HEADER + rows).encode())], backtest=True)
    item = "1_BREAD_BAKERY"
    out = forecasts_for(
        table, [(item, pd.Timestamp("2017-08-12")), (item, pd.Timestamp("2017-08-14"))], H, (0.5,), "backtest"
    )
    assert out[0][0.5].tolist() == [2.0, 2.0] and out[1]["mean"].tolist() == [11.5, 11.5]
    with pytest.raises(
        ForecastFormatError, match="window starting 2017-08-10 \\(its windows start 2017-08-12, 2017-08-14\\)"
    ):
        forecasts_for(table, [(item, pd.Timestamp("2017-08-10"))], H, (0.5,), "backtest")


@pytest.mark.parametrize(
    "text, message",
    [
        ("item_id,date,p10,p50,p90\n1_A,2017-08-16,1,2,3\n", "no column mean"),
        (FORECAST_HEADER + "1_A,2017-08-16,1,x,3,2\n", "line 2, column p50: 'x' is not a number"),
        (FORECAST_HEADER + "1_A,16/08/2017,1,2,3,2\n", "line 2, column date: '16/08/2017' is not a date"),
        (FORECAST_HEADER + "1_A,2017-08-16,1,2,3,2\n1_A,2017-08-16,1,2,3,2\n", "1_A on 2017-08-16 twice"),
    ],
)
def test_an_export_not_in_forecasts_format_is_named(text, message):
    with pytest.raises(ForecastFormatError, match=message):
        read_export([("export.csv", text.encode())], backtest=False)
    with pytest.raises(ForecastFormatError, match="holds no forecasts"):
        read_export([("export.csv", b"")], backtest=False)


def test_a_record_names_its_item_and_first_forecast_day():
    r = record(store=1, family=0, target=(1, 2, 3))  # store code 1 is store 44
    assert record_item(r, ENCODING) == item_id(44, "BREAD/BAKERY") == "44_BREAD_BAKERY"
    assert first_forecast_day(r) == pd.Timestamp("2017-08-16")
