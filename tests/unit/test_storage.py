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
