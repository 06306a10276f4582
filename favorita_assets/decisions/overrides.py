"""The adjusted forecasts' plain parts, beside their asset: landing an override set with its digest and its audit
record, the set in effect for a cut-off, and what the materialization shows. The statistical forecast is only read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.core import overrides
from favorita_assets.decisions.whatif import scenario_file
from favorita_assets.resources.storage import Storage, sha256_of_file


@dataclass
class Adjusted:
    """The adjusted forecasts and totals of a cut-off, the set in effect (None: no overrides) and whether this
    materialization landed it."""

    table: pd.DataFrame
    totals: pd.DataFrame
    record: dict | None
    landed: dict | None

    @property
    def source(self) -> str:
        """Which forecast the plan, the report and the tables use, in words (and in the plan's ``forecast``)."""
        return "statistical" if self.record is None else f"adjusted by override set {self.record['sha256'][:12]}"


def _validated(path: str, fc: pd.DataFrame) -> pd.DataFrame:
    horizon = pd.DatetimeIndex(sorted(pd.to_datetime(fc["date"]).unique()))
    stores = set(fc["store_nbr"].astype(int))
    return overrides.read_overrides(path, stores, set(fc["family"].astype(str)), horizon)


def in_effect(storage: Storage, partition: str) -> dict | None:
    """The pointer record of the override set in effect for a cut-off (the last one landed), or None."""
    pointer = f"{keys.overrides_prefix(partition)}/latest.json"
    return storage.read_json(pointer) if storage.exists(pointer) else None


def adjust_cutoff(storage: Storage, partition: str, file: str | None, offsets: dict) -> Adjusted:
    """The adjusted forecasts of ``partition``: with ``file`` (local, or s3:// in the project's buckets), that set
    is validated against the published forecasts, and only then landed (an immutable copy under its sha256, the
    pointer moved, an audit record written); without, the set in effect is applied again, so a re-run gives the same
    table. Raises FavoritaDataError before writing anything when the file is refused."""
    fc = storage.read_parquet(keys.forecasts(partition))
    record, landed, rules = in_effect(storage, partition), None, None
    if file is not None:
        with scenario_file(storage, file) as local:
            rules = _validated(local, fc)
            if record is None or record["sha256"] != sha256_of_file(local):  # the same set again: nothing to land
                landed = _land(storage, partition, local, file, rules, overrides.adjust(fc, rules))
                record = in_effect(storage, partition)
    elif record is not None:
        with storage.local_path(record["key"]) as local:
            rules = _validated(str(local), fc)
    if rules is None:
        return Adjusted(overrides.adjust(fc, None), storage.read_parquet(keys.forecast_totals(partition)), None, None)
    table = overrides.adjust(fc, rules)
    return Adjusted(table, overrides.adjusted_totals(table, offsets), record, landed)


def _land(storage: Storage, partition: str, local: str, source: str, rules: pd.DataFrame, table) -> dict:
    record = storage.land_file(local, keys.overrides_prefix(partition), source)
    landed_at = datetime.now(UTC).isoformat(timespec="seconds")
    entry = overrides.audit_entry(
        rules,
        overrides.units_changed(table, rules),
        sha256=record["sha256"],
        file=Path(source).name,
        key=record["key"],
        month=partition,
        landed_at=landed_at,
    )
    storage.write_json(keys.override_audit(partition, landed_at, record["sha256"]), entry)
    return entry


def read_audit(storage: Storage, partition: str) -> list[dict]:
    """Every override set landed for a cut-off, oldest first."""
    prefix = f"{keys.overrides_prefix(partition)}/audit/"
    return [storage.read_json(k) for k in sorted(k for k in storage.list_keys(prefix) if k.endswith(".json"))]


def metadata(adjusted: Adjusted, audit: list[dict]) -> dict[str, object]:
    """What the adjusted forecasts' materialization shows (plain values; the asset wraps the Markdown)."""
    table = adjusted.table
    hit = table[table["override_line"] > 0]
    return {
        "forecast": adjusted.source,
        "override_set": "none" if adjusted.record is None else adjusted.record["sha256"],
        "landed_now": adjusted.landed is not None,
        "series_days_adjusted": len(hit),
        "statistical_units": round(float(table["statistical_mean"].sum()), 1),
        "adjusted_units": round(float(table["mean"].sum()), 1),
        "units_changed": round(float(hit["mean"].sum() - hit["statistical_mean"].sum()), 1),
        "sets_landed": len(audit),
        "audit_trail": overrides.audit_table(audit),
    }


def report_note(record: dict | None, audit: list[dict]) -> str:
    """What the report says about the forecast it shows: adjusted by which set, or the statistical one."""
    if record is None:
        return "The statistical forecast: no planner override is in effect for this cut-off."
    landed = next((e["landed_at"] for e in reversed(audit) if e["sha256"] == record["sha256"]), "")
    return (
        f"Adjusted by the planners' override set {record['sha256'][:12]} (landed {landed}; {len(audit)} set(s) in "
        "the audit trail): the charts, the plan and the tables use the adjusted forecast; the statistical one is "
        "kept beside it."
    )


def audit_rows(audit: list[dict]) -> pd.DataFrame:
    """Every rule of every override set landed, oldest first, as the report's table."""
    return pd.DataFrame(
        [{"landed_at": e["landed_at"], "set": e["sha256"][:12], **r} for e in audit for r in e["rules"]],
        columns=[
            "landed_at",
            "set",
            "line",
            "store_nbr",
            "family",
            "start",
            "end",
            "rule",
            "reason",
            "planner",
            "statistical_units",
            "adjusted_units",
            "units_changed",
        ],
    )
