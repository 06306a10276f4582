"""Local storage: atomic writes, immutable content-addressed landing, keys kept inside the root."""

import pandas as pd
import pytest

from favorita_assets.resources.storage import LocalStorage, sha256_of_file


def test_write_read_roundtrip_and_parquet(tmp_path):
    storage = LocalStorage(root=str(tmp_path))
    storage.write_json("a/b.json", {"x": 1})
    assert storage.read_json("a/b.json") == {"x": 1}
    frame = pd.DataFrame({"a": [1, 2]})
    storage.write_parquet("p/f.parquet", frame)
    pd.testing.assert_frame_equal(storage.read_parquet("p/f.parquet"), frame)
    assert not list(tmp_path.rglob("*.tmp"))


def test_failed_write_leaves_the_old_object(tmp_path):
    storage = LocalStorage(root=str(tmp_path))
    storage.write_bytes("k", b"old")

    with pytest.raises(TypeError):
        storage.write_bytes("k", object())  # the write fails midway, before the replace
    assert storage.read_bytes("k") == b"old"
    assert not list(tmp_path.rglob("*.tmp"))


def test_land_file_is_content_addressed_and_idempotent(tmp_path):
    storage = LocalStorage(root=str(tmp_path / "store"))
    source = tmp_path / "train.csv"
    source.write_text("id\n1\n")
    first = storage.land_file(source, "raw/train")
    again = storage.land_file(source, "raw/train")
    assert first["copied"] and not again["copied"] and first["key"] == again["key"]
    assert first["sha256"] == sha256_of_file(source) and f"sha256={first['sha256']}" in first["key"]
    source.write_text("id\n2\n")
    changed = storage.land_file(source, "raw/train")
    assert changed["key"] != first["key"] and storage.exists(first["key"])  # the old copy stays
    assert storage.read_json("raw/train/latest.json")["key"] == changed["key"]


def test_keys_cannot_escape_the_root(tmp_path):
    storage = LocalStorage(root=str(tmp_path / "store"))
    with pytest.raises(ValueError, match="escapes"):
        storage.write_bytes("../outside", b"x")


@pytest.mark.parametrize("as_", ["timestamp", "date", "text"])
def test_a_parquet_read_from_a_day_on_keeps_just_those_rows(tmp_path, as_):
    """Parts written locally hold timestamps; Spark's may hold dates or text: the day filter works on each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    days = pd.date_range("2017-07-25", "2017-08-15", freq="D")
    values = {
        "timestamp": pa.array(days.values),
        "date": pa.array(days.date, pa.date32()),
        "text": pa.array(days.strftime("%Y-%m-%d")),
    }[as_]
    (tmp_path / "p").mkdir()
    pq.write_table(
        pa.table({"date": values, "sales": list(range(len(days)))}), tmp_path / "p" / "f.parquet", row_group_size=5
    )
    storage = LocalStorage(root=str(tmp_path))
    read = storage.read_parquet("p/f.parquet", columns=["sales"], since=("date", pd.Timestamp("2017-08-10")))
    assert read["sales"].tolist() == list(range(16, 22))
    assert len(storage.read_parquet("p/f.parquet")) == len(days)
