"""The ops jobs on the embedded default: upload with checksums, the replenishment plan and promotion what-ifs after
a run, clean-up of old versions, the graph reading from the landing zone, and deploy refusing plainly without AWS."""

import pandas as pd
import pytest

from favorita_assets.core.inventory import read_inventory
from favorita_assets.core.sample_data import FAMILIES
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.resources.alerts import LoggedAlerts
from favorita_assets.settings import Settings, build_resources
from ops_jobs import cleanup_old_versions, deploy_model, promotion_what_if, upload_raw_data
from ops_jobs.what_if import EXAMPLE_SCENARIO

EXAMPLE_INVENTORY = EXAMPLE_SCENARIO.parent / "inventory.csv"

FAST = {"epochs": 2, "num_cells": 8, "mini_batch_size": 16}  # small batches: a test trains in seconds


def run(job, settings, config=None, **kwargs):
    return job.execute_in_process(
        resources=build_resources(settings), run_config=config or {}, raise_on_error=False, **kwargs
    )


def run_overrides(settings, config, month):
    """The apply_overrides job (an asset job: resolved from the code location) on one cut-off."""
    from dagster import DagsterInstance

    from favorita_assets.definitions import build_definitions

    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("cutoff_month", [month])
    job = build_definitions(settings).resolve_job_def("apply_overrides")
    return job.execute_in_process(instance=instance, partition_key=month, run_config=config, raise_on_error=False)


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


def test_an_override_raises_the_adjusted_forecast_and_the_plan_keeps_the_statistical_one_and_is_audited(
    published, tmp_path
):
    """A rule raising a family by 20 % raises its adjusted forecast and its plan by that, leaves the statistical
    forecast as it was, and is in the audit trail; the same set again lands nothing; a bad set changes nothing."""
    storage = build_resources(published)["storage"]
    (month,) = [p.name.removeprefix("cutoff_month=") for p in published.storage_dir.glob("forecasts/*")]
    statistical = (published.storage_dir / f"forecasts/cutoff_month={month}/forecasts.parquet").read_bytes()
    plan_before = storage.read_parquet(f"replenishment_plan/cutoff_month={month}/plan.parquet")
    assert set(plan_before["forecast"]) == {"statistical"}  # the pipeline's own run: no override in effect
    fc = pd.read_parquet(published.storage_dir / f"forecasts/cutoff_month={month}/forecasts.parquet")
    family = plan_before.sort_values("demand_mean")["family"].iloc[-1]
    days = sorted(pd.to_datetime(fc["date"]).unique())
    rules = tmp_path / "overrides.csv"
    rules.write_text(
        "store_nbr,family,start,end,multiplier,quantity,closed,reason,planner\n"
        f",{family},{days[0]:%Y-%m-%d},{days[-1]:%Y-%m-%d},1.2,,,new supplier contract,ana\n"
    )
    config = {"ops": {"adjusted_forecasts": {"config": {"override_file": str(rules)}}}}
    first = run_overrides(published, config, month)
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    assert (published.storage_dir / f"forecasts/cutoff_month={month}/forecasts.parquet").read_bytes() == statistical
    adjusted = storage.read_parquet(f"adjusted_forecasts/cutoff_month={month}/forecasts.parquet")
    mine = adjusted["family"] == family
    assert adjusted.loc[mine, "mean"].to_numpy() == pytest.approx(1.2 * fc.loc[fc["family"] == family, "mean"])
    assert (adjusted.loc[~mine, "mean"].to_numpy() == fc.loc[fc["family"] != family, "mean"].to_numpy()).all()
    assert (adjusted.loc[mine, "override_line"] == 2).all() and (adjusted.loc[~mine, "override_line"] == 0).all()
    plan = storage.read_parquet(f"replenishment_plan/cutoff_month={month}/plan.parquet")
    both = plan_before.merge(plan, on=["store_nbr", "family"], suffixes=("_before", ""))
    raised = both[both["family"] == family]
    # the plan's demand is the forecast over lead time + review period times its backtest errors (in log1p): 20 %
    # more units forecast give 20 % more demand, up to the +1 of log1p
    assert raised["demand_mean"].to_numpy() == pytest.approx(1.2 * raised["demand_mean_before"], rel=0.03)
    assert (
        both.loc[both["family"] != family, "demand_mean"] == both.loc[both["family"] != family, "demand_mean_before"]
    ).all()
    assert plan["forecast"].str.startswith("adjusted by override set ").all()
    (entry,) = [storage.read_json(k) for k in storage.list_keys(f"overrides/cutoff_month={month}/audit/")]
    (rule,) = entry["rules"]
    assert (rule["planner"], rule["reason"], rule["family"], rule["store_nbr"]) == (
        "ana",
        "new supplier contract",
        family,
        "all",
    )
    assert rule["units_changed"] == pytest.approx(0.2 * fc.loc[fc["family"] == family, "mean"].sum(), rel=1e-6)
    meta = first.asset_materializations_for_node("adjusted_forecasts")[0].metadata
    assert "| ana |" in meta["audit_trail"].value and meta["landed_now"].value is True
    report = storage.read_bytes(f"reports/cutoff_month={month}/planner_report.html").decode()
    assert "Adjusted by the planners&#x27; override set" in report and 'id="overrides"' in report

    again = run_overrides(published, config, month)
    assert again.success and len(storage.list_keys(f"overrides/cutoff_month={month}/audit/")) == 1
    assert storage.read_parquet(f"adjusted_forecasts/cutoff_month={month}/forecasts.parquet").equals(adjusted)

    rules.write_text(
        "store_nbr,family,start,end,multiplier,quantity,closed,reason,planner\n"
        f",{family},{days[0]:%Y-%m-%d},{days[3]:%Y-%m-%d},1.2,,,a,ana\n"
        f"1,{family},{days[2]:%Y-%m-%d},{days[4]:%Y-%m-%d},,,true,b,bo\n"
    )
    failed = run_overrides(published, config, month)
    (failure,) = [e for e in failed.all_node_events if e.is_step_failure]
    text = failure.step_failure_data.user_failure_data.description
    assert text.startswith("overrides.csv: two rules overlap") and "line(s): 2, 3" in text, text
    assert storage.read_parquet(f"adjusted_forecasts/cutoff_month={month}/forecasts.parquet").equals(adjusted)
    assert len(storage.list_keys(f"overrides/cutoff_month={month}/audit/")) == 1


class RecordedAlerts(LoggedAlerts):
    def send(self, alert: dict) -> dict:
        SENT.append(alert)
        return {"delivered_to": "test"}


SENT: list[dict] = []


def test_a_past_cutoff_whose_sales_arrived_is_scored_and_a_bias_beyond_its_range_alerts_once(published, tmp_path):
    """A past cut-off (made here from the sales that followed it, 50 % too high) gets its FVA rows when its horizon's
    sales are in the cleaned series; its bias is beyond the backtest's range, so the check warns and the alert goes
    out once."""
    from dagster import DagsterInstance, materialize

    from favorita_assets.decisions.assets import forecast_value_added
    from favorita_assets.resources.cleaned_series import read_cleaned_series

    storage = build_resources(published)["storage"]
    (month,) = [p.name.removeprefix("cutoff_month=") for p in published.storage_dir.glob("forecasts/*")]
    sales = read_cleaned_series(storage, columns=["date", "store_nbr", "family", "sales"])
    horizon = pd.date_range(end=sales["date"].max(), periods=14)
    past = pd.Timestamp(horizon[0]) - pd.Timedelta(days=1)
    actual = sales[pd.to_datetime(sales["date"]).isin(horizon)].sort_values(["store_nbr", "family", "date"])
    mean = 1.5 * actual["sales"].to_numpy()
    fc = actual.assign(
        date=pd.to_datetime(actual["date"]).dt.date,
        days_ahead=1,
        store_closed=False,
        mean=mean,
        p10=0.5 * mean,
        p50=mean,
        p90=2 * mean,
        model_version="test",
    ).drop(columns="sales")
    earlier = "2017-06"
    storage.write_parquet(f"forecasts/cutoff_month={earlier}/forecasts.parquet", fc)
    storage.write_json(
        f"training/cutoff_month={earlier}/manifest.json",
        {"cutoff": f"{past:%Y-%m-%d}", "horizon": [f"{d:%Y-%m-%d}" for d in horizon]},
    )
    backtest = storage.read_parquet(f"evaluation/cutoff_month={month}/backtest.parquet")
    storage.write_parquet(f"evaluation/cutoff_month={earlier}/backtest.parquet", backtest)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("cutoff_month", [month])
    resources = {**build_resources(published), "alerts": RecordedAlerts()}
    SENT.clear()
    for _ in range(2):
        result = materialize([forecast_value_added], partition_key=month, resources=resources, instance=instance)
        assert result.success
        (check,) = result.get_asset_check_evaluations()
        assert not check.passed and check.severity.value == "WARN" and "since the 2017-06 cut-off" in check.description
    scores = storage.read_parquet(f"forecast_value_added/cutoff_month={earlier}/scores.parquet")
    overall = scores[scores["family"] == "ALL"].set_index("forecast")
    assert overall.loc["statistical", "bias"] == pytest.approx(0.5) and overall.loc[
        "adjusted", "bias"
    ] == pytest.approx(0.5)
    assert overall.loc["statistical", "coverage"] == 1.0 and set(scores["family"]) == {*fc["family"], "ALL"}
    assert overall.loc["naive", "rmsle"] > 0 and overall.loc["statistical", "series_days"] == len(fc)
    stat = scores[scores["forecast"] == "statistical"]
    # one month: the cumulative bias is the month's; a family whose own backtest erred as much is not alerted
    families = set(stat.loc[(stat["bias"] > stat["bias_high"]) | (stat["bias"] < stat["bias_low"]), "family"])
    assert {"ALL", "GROCERY I"} <= families
    bias_alerts = [a for a in SENT if a["attributes"]["kind"] == "bias"]
    assert {a["attributes"]["family"] for a in bias_alerts} == families and len(bias_alerts) == len(families)
    meta = result.asset_materializations_for_node("forecast_value_added")[0].metadata
    assert meta["months"].value == 1 and "| 2017-06 |" in meta["last_months"].value
    assert (published.storage_dir / f"plots/cutoff_month={month}/track_record.png").read_bytes()[:4] == b"\x89PNG"
