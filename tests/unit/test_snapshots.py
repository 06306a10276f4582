"""Which inventory snapshot plans which cut-off (favorita_assets/decisions/snapshots.py): pinned to the day it
describes, refusals recorded without touching the accepted ones."""

import pandas as pd

from favorita_assets.decisions import snapshots
from favorita_assets.resources.storage import LocalStorage


def landed(storage, name, digest):
    return {"key": f"raw/inventory/sha256={digest}/{name}", "sha256": digest}


def test_a_cutoff_is_planned_from_the_snapshot_taken_nearest_it_and_a_past_month_not_from_later_stock(tmp_path):
    storage = LocalStorage(root=str(tmp_path))
    snapshots.record_accepted(storage, landed(storage, "inventory.csv", "a" * 64), "2017-07-31", "2026-01-01 10:00")
    snapshots.record_accepted(storage, landed(storage, "inventory.csv", "b" * 64), "2017-08-15", "2026-01-02 10:00")
    again = snapshots.record_accepted(storage, landed(storage, "inventory.csv", "a" * 64), "2017-08-31", "later")
    # The same file landed again beside newer sales is the same old stock: its day and landing time stay.
    assert (again["taken"], again["landed_at"]) == ("2017-07-31", "2026-01-01 10:00")
    history = snapshots.read_history(storage)["snapshots"]
    assert len(history) == 2
    assert snapshots.snapshot_for(pd.Timestamp("2017-08-15"), history)["sha256"] == "b" * 64
    assert snapshots.snapshot_for(pd.Timestamp("2017-07-31"), history)["sha256"] == "a" * 64
    assert snapshots.snapshot_for(pd.Timestamp("2017-05-31"), history) is None
    reason = snapshots.no_snapshot_reason(pd.Timestamp("2017-05-31"), history)
    assert "2017-07-31, 2017-08-15" in reason and "not planned from later stock" in reason
    # A corrected snapshot for the same day wins: the latest landed among equals.
    snapshots.record_accepted(storage, landed(storage, "inventory.csv", "c" * 64), "2017-08-15", "2026-01-03 10:00")
    history = snapshots.read_history(storage)["snapshots"]
    used = snapshots.snapshot_for(pd.Timestamp("2017-08-15"), history)
    assert used["sha256"] == "c" * 64
    pin = snapshots.pin(used, pd.Timestamp("2017-08-15"))
    assert pin["taken"] == "2017-08-15" and pin["sha256"] == "c" * 64 and pin["cutoff"] == "2017-08-15"
    assert snapshots.describe(used) == "inventory.csv (sha256 cccccccccccc, taken 2017-08-15, landed 2026-01-03 10:00)"


def test_a_refusal_is_recorded_warned_about_and_cleared_by_the_next_accepted_snapshot(tmp_path):
    storage = LocalStorage(root=str(tmp_path))
    used = snapshots.record_accepted(storage, landed(storage, "inventory.csv", "a" * 64), "2017-08-15", "t0")
    message = "inventory.csv: on_hand counts units\\n  value: -5"
    history = snapshots.record_refused(storage, "inventory.csv", "data/inventory.csv", message, "t1")
    assert history["snapshots"] == [used] and history["refused"]["refused_at"] == "t1"
    warning = snapshots.refused_warning(used, history["refused"])
    assert warning.startswith("A newer inventory snapshot (inventory.csv, t1) was refused: inventory.csv: on_hand")
    assert "this plan uses the last accepted one, inventory.csv (sha256 aaaaaaaaaaaa, taken 2017-08-15" in warning
    assert snapshots.refused_warning(None, history["refused"]).endswith(
        "there is no plan. Fix the file and run again to plan from it."
    )
    snapshots.record_accepted(storage, landed(storage, "inventory.csv", "b" * 64), "2017-08-15", "t2")
    assert snapshots.read_history(storage)["refused"] is None


def test_a_store_from_before_the_history_plans_any_cutoff_from_its_latest_snapshot(tmp_path):
    storage = LocalStorage(root=str(tmp_path))
    storage.write_json(snapshots.POINTER, {"key": "raw/inventory/sha256=dd/inventory.csv", "sha256": "dd" * 32})
    (old,) = snapshots.read_history(storage)["snapshots"]
    assert old["taken"] is None and snapshots.snapshot_for(pd.Timestamp("2016-01-31"), [old]) is old
    assert "day taken not recorded" in snapshots.describe(old)
    dated = snapshots.record_accepted(storage, old, "2017-08-15", "t1")  # landed again: its day is now recorded
    assert snapshots.read_history(storage)["snapshots"] == [dated] and dated["taken"] == "2017-08-15"
