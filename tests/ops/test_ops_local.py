"""The ops jobs on the embedded default: upload with checksums, low-stock alerts after a run, clean-up of old
versions, the graph reading from the landing zone, and deploy refusing plainly without AWS."""

import logging

import pandas as pd
import pytest

from favorita_assets.core.sample_data import FAMILIES
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.settings import Settings, build_resources
from ops_jobs import cleanup_old_versions, deploy_model, low_stock_alerts, upload_raw_data
from ops_jobs.low_stock import EXAMPLE_INVENTORY

FAST = dict(epochs=2, num_cells=8)


def run(job, settings, config=None, **kwargs):
    return job.execute_in_process(resources=build_resources(settings), run_config=config or {}, raise_on_error=False, **kwargs)


def op_output(result, op_name):
    return result.output_for_node(op_name)


def test_upload_skips_unchanged_files_and_the_graph_reads_the_landing_zone(data_dir, tmp_path):
    settings = Settings(deployment="local", data_dir=data_dir, storage_dir=tmp_path / "storage")
    first = run(upload_raw_data, settings)
    assert first.success
    out = op_output(first, "upload_raw_files")
    assert set(out["uploaded"]) == {p.name for p in data_dir.glob("*.csv")} and out["skipped"] == []
    assert out["train_last_date"] == pd.read_csv(data_dir / "train.csv", usecols=["date"])["date"].max()
    again = op_output(run(upload_raw_data, settings), "upload_raw_files")
    assert again["uploaded"] == [] and len(again["skipped"]) == len(out["uploaded"])
    stores = data_dir / "stores.csv"
    stores.write_bytes(stores.read_bytes())  # rewritten with the same bytes (newer mtime): still skipped
    oil = data_dir / "oil.csv"
    lines = oil.read_text().splitlines()
    oil.write_text("\n".join(lines[:-1]) + "\n")  # one row fewer: changed
    third = op_output(run(upload_raw_data, settings), "upload_raw_files")
    assert third["uploaded"] == ["oil.csv"] and third["files"]["oil.csv"]["sha256"] != out["files"]["oil.csv"]["sha256"]

    # The graph reads the files from landing/ when FAVORITA_RAW_SOURCE=landing, even with the folder gone.
    for path in data_dir.glob("*.csv"):
        path.unlink()
    landing = Settings(deployment="local", data_dir=data_dir, storage_dir=tmp_path / "storage", raw_source="landing")
    report = run_pipeline(landing, config=run_config(**FAST))
    assert report.success, report.failures
    assert report.materialized["raw_sales"]["source"].endswith("landing/train.csv")


@pytest.fixture(scope="module")
def published(small_data_dir, tmp_path_factory):
    settings = Settings(deployment="local", data_dir=small_data_dir, storage_dir=tmp_path_factory.mktemp("ops") / "storage")
    report = run_pipeline(settings, config=run_config(**FAST))
    assert report.success, report.failures
    return settings


def test_the_example_inventory_fits_the_demo_data():
    example = pd.read_csv(EXAMPLE_INVENTORY)
    assert set(example["family"]) <= {f.name for f in FAMILIES} and example["store_nbr"].between(1, 54).all()
    assert len(example) >= 20 and not example.duplicated(["store_nbr", "family"]).any()


def test_low_stock_alerts_write_the_table_and_alert(published, caplog, tmp_path):
    caplog.set_level(logging.WARNING, logger="favorita.alerts")
    pairs = pd.read_parquet(next(published.storage_dir.glob("forecasts/*/forecasts.parquet")))[["store_nbr", "family"]].drop_duplicates()
    inventory = pairs.assign(on_hand=[0, 10**9] * (len(pairs) // 2) + [0] * (len(pairs) % 2), lead_time_days=3)
    inventory.to_csv(tmp_path / "snapshot.csv", index=False)
    result = run(low_stock_alerts, published, {"ops": {"flag_low_stock": {"config": {"inventory_csv": str(tmp_path / "snapshot.csv")}}}})
    assert result.success
    out = op_output(result, "flag_low_stock")
    table = pd.read_csv(published.storage_dir / f"alerts/low_stock/cutoff_month={out['month']}/low_stock.csv")
    assert len(table) == out["pairs"] == len(pairs)
    assert out["at_risk"] == int(table["at_risk"].sum()) == int((inventory["on_hand"] == 0).sum())
    assert (table.loc[table["at_risk"], "demand_p90"] > table.loc[table["at_risk"], "on_hand"]).all()
    assert out["alert"]["delivered_to"] == "log"
    assert any("ALERT low_stock" in r.getMessage() for r in caplog.records)

    bad = tmp_path / "inventory.csv"
    bad.write_text("store_nbr,family,on_hand,lead_time_days\n1,BEVERAGES,-3,2\n")
    failed = run(low_stock_alerts, published, {"ops": {"flag_low_stock": {"config": {"inventory_csv": str(bad)}}}})
    assert not failed.success
    (failure,) = [e for e in failed.all_node_events if e.is_step_failure]
    error = failure.step_failure_data.error.message
    assert "inventory.csv: a value is negative" in error and "column: on_hand" in error, error


def test_cleanup_removes_what_nothing_uses_and_old_months_only_when_told(tmp_path):
    settings = Settings(deployment="local", data_dir=tmp_path, storage_dir=tmp_path / "storage")
    storage = build_resources(settings)["storage"]
    for i in range(4):
        version = f"deepar-2017-0{i + 1}-abc{i}"
        storage.write_json(f"models/{version}/model.json", {"version": version, "trained_at": f"2026-11-0{i + 1}T00:00:00+00:00"})
        storage.write_bytes(f"models/{version}/model.tar.gz", b"weights")
        storage.write_json(f"models/cutoff_month=2017-0{i + 1}/latest.json", {"version": version})
    # A backfill of an old month trained last: by training time it is the newest; its pointer keeps it all the same.
    storage.write_json("models/deepar-2017-04-old/model.json", {"version": "deepar-2017-04-old", "trained_at": "2026-10-01T00:00:00+00:00"})
    cleanup = {"ops": {"remove_old_versions": {"config": {"keep": 2}}}}
    superseded = op_output(run(cleanup_old_versions, settings, cleanup), "remove_old_versions")
    assert superseded["removed"] == ["deepar-2017-04-old"] and len(superseded["kept"]) == 4  # every pointed one stays
    told = {"ops": {"remove_old_versions": {"config": {"keep": 2, "remove_old_months": True}}}}
    dry = op_output(run(cleanup_old_versions, settings, {"ops": {"remove_old_versions": {"config": {
        "keep": 2, "remove_old_months": True, "dry_run": True}}}}), "remove_old_versions")  # fmt: skip
    assert dry["removed"] == ["deepar-2017-01-abc0", "deepar-2017-02-abc1"] and len(storage.list_keys("models")) == 12
    done = op_output(run(cleanup_old_versions, settings, told), "remove_old_versions")
    assert done["kept"] == ["deepar-2017-03-abc2", "deepar-2017-04-abc3"] and done["dropped_months"] == ["2017-01", "2017-02"]
    assert storage.list_keys("models") == sorted([
        "models/cutoff_month=2017-03/latest.json", "models/cutoff_month=2017-04/latest.json",
        "models/deepar-2017-03-abc2/model.json", "models/deepar-2017-03-abc2/model.tar.gz",
        "models/deepar-2017-04-abc3/model.json", "models/deepar-2017-04-abc3/model.tar.gz",
    ])  # fmt: skip


def test_deploy_says_it_needs_aws(tmp_path):
    result = run(deploy_model, Settings(deployment="local", data_dir=tmp_path, storage_dir=tmp_path / "storage"))
    assert not result.success
    (failure,) = [e for e in result.all_node_events if e.is_step_failure]
    assert "need FAVORITA_DEPLOYMENT=aws" in failure.step_failure_data.error.message


def test_a_run_that_died_outside_any_step_is_alerted_with_the_engines_reason():
    """A worker killed mid-run (or out of memory) fails no step: the alert carries the code server's explanation."""
    from types import SimpleNamespace

    from dagster import DagsterInstance, job, op

    from favorita_assets.automation.sensors import _run_level_reason

    @op
    def step():
        pass

    @job
    def work():
        step()

    with DagsterInstance.ephemeral() as instance:
        run = instance.get_run_by_id(work.execute_in_process(instance=instance).run_id)
        context = SimpleNamespace(instance=instance, dagster_run=run, failure_event=SimpleNamespace(message="failed"))
        assert _run_level_reason(context) == "failed"  # nothing better recorded
        instance.report_engine_event("Run execution process for x was terminated by signal 9 (SIGKILL).", run,
                                     cls=DagsterInstance)  # fmt: skip
        assert "terminated by signal 9 (SIGKILL)" in _run_level_reason(context)
