"""The cleaned series in storage: Parquet parts under a version prefix, and the pointer that names them (read by the
series, modeling, publishing and decisions assets and by the channel builders; committed by cleaned_series)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.core.cleaning import normalize_cleaned
from favorita_assets.resources.storage import Storage


def commit_cleaned_series(
    storage: Storage,
    version: str,
    parts: list[str],
    engine: str,
    stats: dict[str, Any],
    reconciliation: dict[str, Any] | None = None,
) -> dict:
    """Point readers at ``parts`` (the commit: one atomic write of the pointer). The pointer keeps the statistics
    and the reconciliation, so unchanged inputs can reuse the committed version without cleaning again."""
    if not parts:
        raise RuntimeError(
            f"the cleaning wrote no Parquet part under {storage.uri(keys.cleaned_series_version(version))}"
        )
    pointer = {
        "version": version,
        "parts": sorted(parts),
        "engine": engine,
        "rows": stats.get("rows"),
        "stats": stats,
        "reconciliation": reconciliation or {},
    }
    storage.write_json(keys.CLEANED_SERIES_POINTER, pointer)
    return pointer


def committed_version(storage: Storage, version: str) -> dict | None:
    """The pointer, when it already commits ``version`` and every part it names is there; else None."""
    if not storage.exists(keys.CLEANED_SERIES_POINTER):
        return None
    pointer = storage.read_json(keys.CLEANED_SERIES_POINTER)
    if (
        pointer.get("version") != version
        or "stats" not in pointer
        or not all(storage.exists(k) for k in pointer["parts"])
    ):
        return None
    return pointer


def read_parts(
    storage: Storage, parts: list[str], engine: str, columns: list[str] | None = None, since: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The cleaned series held in ``parts``, in :func:`~favorita_assets.core.cleaning.clean_series`'s form; with
    ``since``, only the days from it on (filtered while reading: a plot of recent weeks never loads all history)."""
    window = ("date", since) if since is not None else None
    frames = [storage.read_parquet(key, columns=columns, since=window) for key in parts]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if engine == "spark" or len(frames) > 1:
        frame = normalize_cleaned(frame)
    return frame


def read_cleaned_series(
    storage: Storage, columns: list[str] | None = None, since: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The current cleaned series (all parts the pointer names); ``since``: only the days from it on."""
    pointer = storage.read_json(keys.CLEANED_SERIES_POINTER)
    return read_parts(storage, pointer["parts"], pointer.get("engine", ""), columns, since)
