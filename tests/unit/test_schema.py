"""The validated CSV reader and the raw content rules: every bad input names file, column, value and a fix."""

import pandas as pd
import pytest

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.schema import (
    KAGGLE_FILES,
    duplicate_key_rows,
    ensure_valid,
    missing_calendar_dates,
    negative_rows,
    read_kaggle_csv,
)


def write(path, text):
    path.write_text(text)
    return path


def test_reads_every_generated_table_with_kaggle_columns_in_order(small_data_dir):
    for name, spec in KAGGLE_FILES.items():
        frame = read_kaggle_csv(small_data_dir / spec.filename, name)
        assert list(frame.columns) == list(spec.columns)
        assert len(frame) > 0
    train = read_kaggle_csv(small_data_dir / "train.csv", "train")
    assert str(train["date"].dtype) == "datetime64[ns]"
    assert train["sales"].dtype == "float64" and train["onpromotion"].dtype == "int64"


def test_missing_file_names_file_and_fix(tmp_path):
    with pytest.raises(FavoritaDataError) as err:
        read_kaggle_csv(tmp_path / "train.csv", "train")
    message = str(err.value)
    assert "train.csv" in message and "not found" in message and "FAVORITA_DATA_DIR" in message


def test_empty_file_and_header_only_file(tmp_path):
    with pytest.raises(FavoritaDataError, match="empty"):
        read_kaggle_csv(write(tmp_path / "stores.csv", ""), "stores")
    with pytest.raises(FavoritaDataError, match="header but no data rows"):
        read_kaggle_csv(write(tmp_path / "stores.csv", "store_nbr,city,state,type,cluster\n"), "stores")


def test_renamed_column_is_named_with_suggestion(tmp_path):
    path = write(tmp_path / "train.csv", "id,date,store_nbr,family,sale,onpromotion\n0,2017-01-01,1,EGGS,3.0,0\n")
    with pytest.raises(FavoritaDataError) as err:
        read_kaggle_csv(path, "train")
    assert err.value.column == "sales"
    assert "found 'sale'" in str(err.value)


def test_non_numeric_sales_names_value_and_line(tmp_path):
    body = "id,date,store_nbr,family,sales,onpromotion\n0,2017-01-01,1,EGGS,3.0,0\n1,2017-01-02,1,EGGS,lots,0\n"
    with pytest.raises(FavoritaDataError) as err:
        read_kaggle_csv(write(tmp_path / "train.csv", body), "train")
    assert (err.value.file, err.value.column, err.value.value, err.value.rows) == ("train.csv", "sales", "lots", [3])


def test_bad_date_and_fractional_integer_are_named(tmp_path):
    body = "id,date,store_nbr,family,sales,onpromotion\n0,01/02/2017,1,EGGS,3.0,0\n"
    with pytest.raises(FavoritaDataError) as err:
        read_kaggle_csv(write(tmp_path / "train.csv", body), "train")
    assert err.value.column == "date" and err.value.value == "01/02/2017"
    body = "id,date,store_nbr,family,sales,onpromotion\n0,2017-01-02,1.5,EGGS,3.0,0\n"
    with pytest.raises(FavoritaDataError) as err:
        read_kaggle_csv(write(tmp_path / "train.csv", body), "train")
    assert err.value.column == "store_nbr" and err.value.value == "1.5"


def test_empty_required_value_is_refused_but_empty_oil_price_is_allowed(tmp_path):
    with pytest.raises(FavoritaDataError, match="empty value"):
        read_kaggle_csv(
            write(tmp_path / "stores.csv", "store_nbr,city,state,type,cluster\n1,Quito,Pichincha,D,\n"), "stores"
        )
    oil = read_kaggle_csv(write(tmp_path / "oil.csv", "date,dcoilwtico\n2017-01-02,\n2017-01-03,52.1\n"), "oil")
    assert oil["dcoilwtico"].isna().sum() == 1


def frame(rows):
    return pd.DataFrame(rows, columns=["id", "date", "store_nbr", "family", "sales", "onpromotion"]).assign(
        date=lambda f: pd.to_datetime(f["date"])
    )


def test_duplicate_keys_are_listed_with_lines():
    train = frame(
        [
            (0, "2017-01-01", 1, "EGGS", 1.0, 0),
            (1, "2017-01-01", 1, "EGGS", 2.0, 0),
            (2, "2017-01-02", 1, "EGGS", 2.0, 0),
        ]
    )
    assert duplicate_key_rows(train, ("date", "store_nbr", "family"))["line"].tolist() == [2, 3]
    with pytest.raises(FavoritaDataError) as err:
        ensure_valid("train", train)
    assert err.value.rows == [2, 3] and "date=2017-01-01" in str(err.value.value)


def test_negative_sales_named():
    train = frame([(0, "2017-01-01", 1, "EGGS", 1.0, 0), (1, "2017-01-02", 1, "EGGS", -4.0, 0)])
    assert negative_rows(train, "sales")["line"].tolist() == [3]
    with pytest.raises(FavoritaDataError) as err:
        ensure_valid("train", train)
    assert (err.value.column, err.value.value, err.value.rows) == ("sales", -4.0, [3])


def test_unknown_store_named():
    train = frame([(0, "2017-01-01", 1, "EGGS", 1.0, 0), (1, "2017-01-01", 99, "EGGS", 1.0, 0)])
    stores = pd.DataFrame({"store_nbr": [1], "city": ["Quito"], "state": ["Pichincha"], "type": ["D"], "cluster": [13]})
    with pytest.raises(FavoritaDataError) as err:
        ensure_valid("train", train, stores)
    assert (err.value.column, err.value.value, err.value.rows) == ("store_nbr", 99, [3])
    assert "stores.csv" in str(err.value)


def test_missing_calendar_dates():
    dates = pd.Series(pd.to_datetime(["2016-12-23", "2016-12-24", "2016-12-26"]))
    assert missing_calendar_dates(dates) == [pd.Timestamp("2016-12-25")]


STORES_TEXT = "store_nbr,city,state,type,cluster\r\n1,Quito,Pichincha,D,13\r\n2,Cañar,Cañar,C,3\r\n"


@pytest.mark.parametrize(
    "raw, encoding",
    [
        (b"\xef\xbb\xbf" + STORES_TEXT.encode(), "utf-8-sig"),  # Excel's "CSV UTF-8": a byte-order mark, CRLF lines
        (STORES_TEXT.encode(), "utf8"),
        (STORES_TEXT.encode("utf-16"), "utf-16"),  # Excel's "Unicode text"
        (STORES_TEXT.encode("cp1252"), "cp1252"),  # Excel's "CSV" on Spanish Windows
        (STORES_TEXT.encode("latin-1").replace(b"Quito", b"Quito\x81"), "latin-1"),  # a byte Windows-1252 lacks
    ],
)
def test_any_encoding_excel_writes_is_read_correctly(tmp_path, raw, encoding):
    (tmp_path / "stores.csv").write_bytes(raw)
    frame = read_kaggle_csv(tmp_path / "stores.csv", "stores")
    assert frame["city"].tolist()[1] == "Cañar" and frame["state"].tolist() == ["Pichincha", "Cañar"]
    assert frame["cluster"].tolist() == [13, 3] and list(frame.columns) == [
        "store_nbr",
        "city",
        "state",
        "type",
        "cluster",
    ]
    assert frame.attrs["encoding"] == encoding


def test_a_bad_value_in_a_bom_file_still_names_its_line(tmp_path):
    (tmp_path / "stores.csv").write_bytes(b"\xef\xbb\xbf" + STORES_TEXT.replace(",13", ",x13").encode())
    with pytest.raises(FavoritaDataError) as err:
        read_kaggle_csv(tmp_path / "stores.csv", "stores")
    assert err.value.column == "cluster" and err.value.value == "x13" and err.value.rows == [2]


def test_days_kaggle_always_lacks_are_explained_and_others_are_not():
    from favorita_assets.core.quality import explain_missing_days

    days = pd.to_datetime(["2016-12-25", "2017-01-01", "2017-03-04", "2017-03-08"])  # Sun, Sun, Sat, Wed
    expected, unexpected, why = explain_missing_days("train", list(days))
    assert list(expected["missing_date"]) == [days[0]] and "25 December" in why
    assert list(unexpected["missing_date"]) == list(days[1:])
    expected, unexpected, why = explain_missing_days("transactions", list(days))
    assert list(expected["missing_date"]) == list(days[:2]) and "1 January" in why
    expected, unexpected, why = explain_missing_days("oil", list(days))
    assert list(unexpected["missing_date"]) == [days[3]] and "weekends" in why  # a Wednesday without a quote


def test_kaggle_files_are_read_gzipped_or_inside_the_competitions_zip(small_data_dir, tmp_path):
    import gzip
    import shutil
    import zipfile

    from favorita_assets.ingest.resources import RawDataSource

    plain = read_kaggle_csv(small_data_dir / "train.csv", "train")
    packed = tmp_path / "gz"
    packed.mkdir()
    with open(small_data_dir / "train.csv", "rb") as source, gzip.open(packed / "train.csv.gz", "wb") as target:
        shutil.copyfileobj(source, target)
    with RawDataSource(data_dir=str(packed)).local_file(None, "train.csv") as path:
        assert path.name == "train.csv.gz"
        pd.testing.assert_frame_equal(read_kaggle_csv(path, "train"), plain)
    download = tmp_path / "zip"
    download.mkdir()
    with zipfile.ZipFile(download / "store-sales-time-series-forecasting.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
        for spec in KAGGLE_FILES.values():
            bundle.write(small_data_dir / spec.filename, spec.filename)
    with RawDataSource(data_dir=str(download)).local_file(None, "train.csv") as path:
        pd.testing.assert_frame_equal(read_kaggle_csv(path, "train"), plain)
    assert not path.exists()  # the member copied out for reading is gone afterwards
    with RawDataSource(data_dir=str(download)).local_file(None, "transactions.csv") as path:
        assert read_kaggle_csv(path, "transactions")["transactions"].sum() > 0


def test_a_gzipped_file_with_a_bad_value_is_named_like_a_plain_one(tmp_path):
    import gzip

    path = tmp_path / "stores.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("store_nbr,city,state,type,cluster\n1,Quito,Pichincha,D,13\nx,Quito,Pichincha,D,13\n")
    with pytest.raises(FavoritaDataError) as error:
        read_kaggle_csv(path, "stores")
    assert "store_nbr" in str(error.value) and "'x'" in str(error.value) and "3" in str(error.value)
