"""Which inventory snapshot plans which cut-off, beside the inventory_snapshot and replenishment_plan assets.

Every accepted snapshot is kept (an immutable sha256-addressed copy) and listed in ``raw/inventory/snapshots.json``
with the day it describes (``taken``: the last day of the sales history it was landed with) and when it was landed.
A cut-off is planned from the snapshot taken nearest to it, within ``PIN_DAYS`` days, so a backfill of a past month
plans it from the stock of that month, or not at all (saying why), never from today's stock. A refused snapshot
(a bad inventory.csv) blocks nothing: it is recorded, with its message, and the plan and the report warn that a newer
snapshot was refused while they use the last accepted one. No Dagster here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.resources.storage import Storage

PIN_DAYS = 7  # a snapshot plans the cut-offs it was taken within this many days of
HISTORY = f"{keys.raw_prefix(keys.INVENTORY_TABLE)}/snapshots.json"
POINTER = f"{keys.raw_prefix(keys.INVENTORY_TABLE)}/latest.json"


def read_history(storage: Storage) -> dict[str, Any]:
    """The accepted snapshots (oldest first) and the last refusal since the last acceptance (or None). A store that
    predates the history lists its latest snapshot with an unknown day (it then plans any cut-off, as before)."""
    if storage.exists(HISTORY):
        return storage.read_json(HISTORY)
    history: dict[str, Any] = {"snapshots": [], "refused": None}
    if storage.exists(POINTER):
        record = storage.read_json(POINTER)
        if not record.get("absent"):
            history["snapshots"].append(
                {"key": record["key"], "sha256": record["sha256"], "file": _file(record["key"]), "taken": None}
            )
    return history


def _file(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def record_accepted(storage: Storage, record: dict, taken: str | None, now: str) -> dict:
    """Add a landed snapshot (``storage.land_file``'s record) to the history, or return its entry when the same
    content is listed: an unchanged file describes the day it was first landed with, not the newer sales landed
    beside it. Clears the last refusal: this snapshot is the newer one."""
    history = read_history(storage)
    dated = [s for s in history["snapshots"] if s["sha256"] == record["sha256"] and s.get("taken")]
    if dated:
        history["refused"] = None
        storage.write_json(HISTORY, history)
        return dated[-1]
    entry = {"key": record["key"], "sha256": record["sha256"], "file": _file(record["key"]), "taken": taken}
    # listed before its day was recorded
    same = [s for s in history["snapshots"] if s["sha256"] == entry["sha256"]]
    entry["landed_at"] = next((s["landed_at"] for s in same if s.get("landed_at")), now)
    history["snapshots"] = [s for s in history["snapshots"] if s not in same] + [entry]
    history["refused"] = None
    storage.write_json(HISTORY, history)
    return entry


def record_refused(storage: Storage, file: str, source: str, message: str, now: str) -> dict[str, Any]:
    """Record a refused snapshot (its message and when) without touching the accepted ones."""
    history = read_history(storage)
    history["refused"] = {"file": file, "source": source, "message": message, "refused_at": now}
    storage.write_json(HISTORY, history)
    return history


def snapshot_for(cutoff: pd.Timestamp, snapshots: list[dict]) -> dict | None:
    """The snapshot that plans ``cutoff``: taken nearest to it and at most PIN_DAYS days away (the latest landed
    among equals); one whose day is unknown fits any cut-off. None when no snapshot fits."""
    fitting = []
    for order, s in enumerate(snapshots):
        if s.get("taken") is None:
            fitting.append((0, order, s))
            continue
        days = abs((pd.Timestamp(s["taken"]) - cutoff).days)
        if days <= PIN_DAYS:
            fitting.append((days, order, s))
    if not fitting:
        return None
    return min(fitting, key=lambda f: (f[0], -f[1]))[2]


def no_snapshot_reason(cutoff: pd.Timestamp, snapshots: list[dict]) -> str:
    """Why a cut-off has no plan although snapshots were landed: none was taken near it."""
    days = sorted({s["taken"] for s in snapshots if s.get("taken")})
    return (
        f"no inventory snapshot was taken within {PIN_DAYS} days of this cut-off ({cutoff:%Y-%m-%d}; the snapshots "
        f"on record describe {', '.join(days)}): a past month is not planned from later stock, so this cut-off has "
        "no plan (land that month's snapshot beside that month's sales to plan it)"
    )


def describe(used: dict) -> str:
    """One line naming a snapshot: its file, digest, the day it describes and when it was landed."""
    taken = f"taken {used['taken']}" if used.get("taken") else "day taken not recorded"
    landed = f", landed {used['landed_at']}" if used.get("landed_at") else ""
    return f"{used['file']} (sha256 {used['sha256'][:12]}, {taken}{landed})"


def refused_warning(used: dict | None, refused: dict | None) -> str | None:
    """The warning when a snapshot newer than the one in use was refused, or None."""
    if not refused:
        return None
    fallback = f"this plan uses the last accepted one, {describe(used)}" if used else "there is no plan"
    first = "; ".join(line.strip() for line in refused["message"].splitlines() if line.strip())
    return (
        f"A newer inventory snapshot ({refused['file']}, {refused['refused_at']}) was refused: {first}; {fallback}. "
        "Fix the file and run again to plan from it."
    )


def pin(used: dict, cutoff: pd.Timestamp) -> dict:
    """What a plan records of the snapshot it was made from (written beside it)."""
    return {
        "cutoff": f"{cutoff:%Y-%m-%d}",
        **{k: used.get(k) for k in ("file", "sha256", "taken", "landed_at", "key")},
    }
