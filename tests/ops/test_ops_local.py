"""The ops jobs on the embedded default: upload with checksums, the replenishment plan and promotion what-ifs after
a run, clean-up of old versions, the graph reading from the landing zone, and deploy refusing plainly without AWS."""

import pandas as pd
import pytest

from favorita_assets.core.inventory import read_inventory
from favorita_assets.core.sample_data import FAMILIES
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.settings import Settings, build_resources
from ops_jobs import cleanup_old_versions, deploy_model, promotion_what_if, upload_raw_data
from ops_jobs.what_if import EXAMPLE_SCENARIO

EXAMPLE_INVENTORY = EXAMPLE_SCENARIO.parent / "inventory.csv"

FAST = {"epochs": 2, "num_cells": 8}


def run(job, settings, config=None, **kwargs):
    return job.execute_in_process(
        resources=build_resources(settings), run_config=config or {}, raise_on_error=False, **kwargs
    )


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
    settings = Settings(
        deployment="local", data_dir=small_data_dir, storage_dir=tmp_path_factory.mktemp("ops") / "storage"
    )
    report = run_pipeline(settings, config=run_config(**FAST))
    assert report.success, report.failures
    return settings


def test_the_examples_fit_the_demo_data():
    example = read_inventory(EXAMPLE_INVENTORY)
    assert set(example["family"]) <= {f.name for f in FAMILIES} and example["store_nbr"].between(1, 54).all()
    assert len(example) >= 20 and example["stockout_cost"].notna().any() and example["pack_size"].notna().any()
    scenario = pd.read_csv(EXAMPLE_SCENARIO)
    assert set(scenario["family"]) <= {f.name for f in FAMILIES}


def test_the_run_plans_from_the_landed_snapshot_and_writes_the_report(published):
    """The small data's generated snapshot is landed, planned, written as Parquet and CSV, and reported."""
    storage = build_resources(published)["storage"]
    month = next(published.storage_dir.glob("replenishment_plan/*")).name.removeprefix("cutoff_month=")
    plan = storage.read_parquet(f"replenishment_plan/cutoff_month={month}/plan.parquet")
    snapshot = read_inventory(published.data_dir / "inventory.csv")
    assert len(plan) == len(snapshot) and set(zip(plan["store_nbr"], plan["family"], strict=True)) == set(
        zip(snapshot["store_nbr"], snapshot["family"], strict=True)
    )
    csv = pd.read_csv(published.storage_dir / f"reports/cutoff_month={month}/replenishment_plan.csv")
    pd.testing.assert_frame_equal(
        csv[["store_nbr", "order_quantity"]], plan[["store_nbr", "order_quantity"]], check_dtype=False
    )
    assert (plan["order_quantity"] >= 0).all() and ((plan["order_quantity"] / plan["pack_size"]) % 1 == 0).all()
    report = (published.storage_dir / f"reports/cutoff_month={month}/planner_report.html").read_text()
    assert "Replenishment plan" in report and "<script src=" not in report


def test_a_what_if_reports_the_lift_and_refuses_bad_scenarios(published, tmp_path):
    storage = build_resources(published)["storage"]
    fc = pd.read_parquet(next(published.storage_dir.glob("forecasts/*/forecasts.parquet")))
    days = sorted(pd.to_datetime(fc["date"]).unique())
    family = sorted(fc["family"].unique())[0]
    scenario = tmp_path / "promo.csv"
    scenario.write_text(
        f"store_nbr,family,start_date,end_date,onpromotion\nall,{family},{days[2]:%Y-%m-%d},{days[5]:%Y-%m-%d},30\n"
    )
    config = {"ops": {"forecast_scenario": {"config": {"scenario_file": str(scenario)}}}}
    result = run(promotion_what_if, published, config)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    out = op_output(result, "forecast_scenario")
    (row,) = out["rows"]
    assert row["family"] == family and row["stores"] == fc["store_nbr"].nunique()
    table = storage.read_parquet(f"scenarios/cutoff_month={out['partition']}/scenario=promo/whatif.parquet")
    assert len(table) == 4 * fc["store_nbr"].nunique() and set(table["onpromotion"]) == {30.0}
    if table["uses_promotions"].all():
        assert (
            row["lift_units"] == pytest.approx(table["lift_mean"].sum())
            and row["lift_p10"] <= row["lift_units"] <= row["lift_p90"]
        )
    else:
        assert row["lift_units"] is None and "does not use promotions" in row["note"]
    report = storage.read_bytes(f"reports/cutoff_month={out['partition']}/planner_report.html").decode()
    assert 'id="whatif-promo"' in report
    again = op_output(run(promotion_what_if, published, config), "forecast_scenario")
    assert again["rows"] == out["rows"]  # the same scenario again: the same result

    scenario.write_text(
        "store_nbr,family,start_date,end_date,onpromotion\n"
        f"1,{family},{days[0] - pd.Timedelta(days=3):%Y-%m-%d},{days[1]:%Y-%m-%d},30\n"
    )
    failed = run(promotion_what_if, published, config)
    (failure,) = [e for e in failed.all_node_events if e.is_step_failure]
    text = failure.step_failure_data.user_failure_data.description
    assert text.startswith("promo.csv: a date is outside the forecast horizon") and "column: start_date" in text, text


def test_cleanup_removes_what_nothing_uses_and_old_months_only_when_told(tmp_path):
    settings = Settings(deployment="local", data_dir=tmp_path, storage_dir=tmp_path / "storage")
    storage = build_resources(settings)["storage"]
    for i in range(4):
        version = f"deepar-2017-0{i + 1}-abc{i}"
        storage.write_json(
            f"models/{version}/model.json", {"version": version, "trained_at": f"2026-11-0{i + 1}T00:00:00+00:00"}
        )
        storage.write_bytes(f"models/{version}/model.tar.gz", b"weights")
        storage.write_json(f"models/cutoff_month=2017-0{i + 1}/latest.json", {"version": version})
    # A backfill of an old month trained last: by training time it is the newest; its pointer keeps it all the same.
    storage.write_json(
        "models/deepar-2017-04-old/model.json",
        {"version": "deepar-2017-04-old", "trained_at": "2026-10-01T00:00:00+00:00"},
    )
    cleanup = {"ops": {"remove_old_versions": {"config": {"keep": 2}}}}
    superseded = op_output(run(cleanup_old_versions, settings, cleanup), "remove_old_versions")
    assert superseded["removed"] == ["deepar-2017-04-old"] and len(superseded["kept"]) == 4  # every pointed one stays
    told = {"ops": {"remove_old_versions": {"config": {"keep": 2, "remove_old_months": True}}}}
    dry = op_output(
        run(
            cleanup_old_versions,
            settings,
            {"ops": {"remove_old_versions": {"config": {"keep": 2, "remove_old_months": True, "dry_run": True}}}},
        ),
        "remove_old_versions",
    )
    assert dry["removed"] == ["deepar-2017-01-abc0", "deepar-2017-02-abc1"] and len(storage.list_keys("models")) == 12
    done = op_output(run(cleanup_old_versions, settings, told), "remove_old_versions")
    assert done["kept"] == ["deepar-2017-03-abc2", "deepar-2017-04-abc3"] and done["dropped_months"] == [
        "2017-01",
        "2017-02",
    ]
    assert storage.list_keys("models") == sorted(
        [
            "models/cutoff_month=2017-03/latest.json",
            "models/cutoff_month=2017-04/latest.json",
            "models/deepar-2017-03-abc2/model.json",
            "models/deepar-2017-03-abc2/model.tar.gz",
            "models/deepar-2017-04-abc3/model.json",
            "models/deepar-2017-04-abc3/model.tar.gz",
        ]
    )


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
        instance.report_engine_event(
            "Run execution process for x was terminated by signal 9 (SIGKILL).", run, cls=DagsterInstance
        )
        assert "terminated by signal 9 (SIGKILL)" in _run_level_reason(context)
