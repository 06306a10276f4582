"""Files as users save them: rows with a wrong field count, Excel's semicolon "CSV" and its "Unicode text"."""

import pytest

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.schema import read_dates, read_kaggle_csv

TRAIN = [
    "id,date,store_nbr,family,sales,onpromotion",
    "0,2016-01-09,1,PRODUCE,393.375,0",
    "1,2016-01-09,1,BEVERAGES,12.5,2",
    "2,2016-01-10,1,PRODUCE,401.0,0",
]


def write(path, lines, encoding="utf-8", sep=","):
    path.write_bytes(("\r\n".join(line.replace(",", sep) for line in lines) + "\r\n").encode(encoding))
    return path


def test_a_row_with_a_field_missing_is_named_by_file_line_and_field_counts(tmp_path):
    lines = TRAIN[:2] + ["99,2016-01-09,1,PRODUCE,393.375"] + TRAIN[3:]
    path = write(tmp_path / "train.csv", lines)
    for read in (lambda: read_kaggle_csv(path, "train"), lambda: read_dates(path)):
        with pytest.raises(FavoritaDataError) as caught:
            read()
        error = caught.value
        assert error.file == "train.csv" and error.rows == [3]
        assert error.problem == "line 3 has 5 fields where the header has 6"
        assert "ArrowInvalid" not in str(error) and "give every row the header's 6 fields" in error.fix


def test_a_row_with_a_field_too_many_is_named(tmp_path):
    path = write(tmp_path / "train.csv", [*TRAIN, "3,2016-01-10,1,BEVERAGES,1.0,0,extra"])
    with pytest.raises(FavoritaDataError, match="line 5 has 7 fields where the header has 6"):
        read_kaggle_csv(path, "train")


def test_excel_semicolon_csv_with_decimal_commas_reads_as_the_comma_file(tmp_path):
    expected = read_kaggle_csv(write(tmp_path / "train.csv", TRAIN), "train")
    european = [TRAIN[0].replace(",", ";")] + [
        ";".join(f if i != 4 else f.replace(".", ",") for i, f in enumerate(line.split(","))) for line in TRAIN[1:]
    ]
    (tmp_path / "eu").mkdir()
    path = tmp_path / "eu" / "train.csv"
    path.write_text("\n".join(european) + "\n")
    assert read_kaggle_csv(path, "train").equals(expected)
    assert str(read_dates(path).max().date()) == "2016-01-10"


def test_excel_unicode_text_utf16_with_tabs_reads_as_the_comma_file(tmp_path):
    expected = read_kaggle_csv(write(tmp_path / "train.csv", TRAIN), "train")
    (tmp_path / "u").mkdir()
    path = write(tmp_path / "u" / "train.csv", TRAIN, encoding="utf-16", sep="\t")
    assert read_kaggle_csv(path, "train").equals(expected)


def test_an_ambiguous_semicolon_file_says_how_to_save_a_comma_csv(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(
        "id;date;store_nbr;family;sales;onpromotion\n0;2016-01-09;1;PRODUCE;1.234,5;0\n1;2016-01-09;1;BOOKS;2,5;0\n"
    )
    with pytest.raises(FavoritaDataError) as caught:
        read_kaggle_csv(path, "train")
    assert "mixes ',' and '.' in numbers" in caught.value.problem and caught.value.column == "sales"
    assert "CSV UTF-8 (Comma delimited)" in caught.value.fix
