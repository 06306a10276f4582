"""Reading and committing the cleaned series: Parquet parts under a version prefix, and the pointer that names them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.core.cleaning import normalize_cleaned
from favorita_assets.resources.storage import Storage


def commit_cleaned_series(storage: Storage, version: str, parts: list[str], engine: str, stats: dict[str, Any]) -> dict:
    """Point readers at ``parts`` (the commit: one atomic write of the pointer)."""
    if not parts:
        raise RuntimeError(f"the cleaning wrote no Parquet part under {storage.uri(keys.cleaned_series_version(version))}")
    pointer = {"version": version, "parts": sorted(parts), "engine": engine, "rows": stats.get("rows")}
    storage.write_json(keys.CLEANED_SERIES_POINTER, pointer)
    return pointer


def read_cleaned_series(storage: Storage, columns: list[str] | None = None) -> pd.DataFrame:
    """The current cleaned series (all parts), in :func:`~favorita_assets.core.cleaning.clean_series`'s form."""
    pointer = storage.read_json(keys.CLEANED_SERIES_POINTER)
    frames = [storage.read_parquet(key, columns=columns) for key in pointer["parts"]]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if pointer.get("engine") == "spark" or len(frames) > 1:
        frame = normalize_cleaned(frame)
    return frame
