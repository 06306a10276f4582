"""The forecasting half of the graph on generated data: channels, model, backtest, forecasts, submission, plots."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, build_schedule_context, partition_loading_context

from favorita_assets.core.candidates import DEEPAR, DEFAULT_CHALLENGERS, ENSEMBLE
from favorita_assets.definitions import build_definitions
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.resources.training import LocalDeepAR
from favorita_assets.storage_keys import evaluation_backtest, evaluation_metrics, plots_prefix, training_prefix
from favorita_assets.storage_keys import forecast_totals as forecast_totals_key
from favorita_assets.storage_keys import forecasts as forecasts_key
from favorita_assets.storage_keys import submission as submission_key

FAST = {"epochs": 2, "num_cells": 8, "mini_batch_size": 16}  # small batches: a test trains in seconds


@pytest.fixture(scope="module")
def forecast_run(small_data_dir, tmp_path_factory):
    from favorita_assets.settings import Settings

    settings = Settings("local", small_data_dir, tmp_path_factory.mktemp("storage"))
    report = run_pipeline(settings, config=run_config(prediction_length=16, **FAST))
    return settings, report


def test_every_asset_materializes_for_the_latest_cutoff(forecast_run):
    _, report = forecast_run
    assert report.success, report.failures
    assert report.partition_key == "2017-08"
    assert {
        "deepar_training_data",
        "deepar_model",
        "forecast_evaluation",
        "forecasts",
        "kaggle_submission",
        "forecast_plots",
    } <= set(report.materialized)
    failed = {(c.asset, c.check) for c in report.failed_checks if c.severity != "WARN"}
    assert not failed
    assert any(c.check == "sagemaker_format" and c.passed for c in report.checks)


def test_forecasts_table(forecast_run, small_data_dir):
    settings, report = forecast_run
    frame = pd.read_parquet(settings.storage_dir / forecasts_key(report.partition_key))
    assert list(frame.columns) == [
        "date",
        "store_nbr",
        "family",
        "days_ahead",
        "store_closed",
        "mean",
        "p10",
        "p50",
        "p90",
        "model_version",
    ]
    assert len(frame) == 12 * 16
    test = pd.read_csv(small_data_dir / "test.csv", parse_dates=["date"])
    assert set(pd.to_datetime(frame["date"])) == set(test["date"])
    assert (frame[["mean", "p10", "p50", "p90"]] >= 0).all().all()
    assert (frame.p10 <= frame.p50).all() and (frame.p50 <= frame.p90).all()
    # model_version names, row by row, the champion of the row's family
    metrics = json.loads((settings.storage_dir / evaluation_metrics(report.partition_key)).read_text())
    expected = frame["family"].map(lambda f: metrics["versions"][metrics["champions"][f]])
    assert (frame["model_version"] == expected).all()
    assert metrics["versions"]["deepar"] == report.materialized["deepar_model"]["model_version"]


def test_totals_add_up_and_carry_their_own_band(forecast_run):
    settings, report = forecast_run
    frame = pd.read_parquet(settings.storage_dir / forecasts_key(report.partition_key))
    totals = pd.read_parquet(settings.storage_dir / forecast_totals_key(report.partition_key))
    assert list(totals.columns) == ["level", "store_nbr", "family", "date", "days_ahead", "mean", "p10", "p50", "p90"]
    assert set(totals["level"]) == {"total", "store", "family"}
    total = totals[totals.level == "total"].set_index("date")["mean"]
    assert np.allclose(total.to_numpy(), frame.groupby("date")["mean"].sum().reindex(total.index).to_numpy())
    by_store = totals[totals.level == "store"].groupby("date")["mean"].sum()
    assert np.allclose(by_store.reindex(total.index).to_numpy(), total.to_numpy())
    whole = totals[totals.level == "total"]
    summed_p90 = frame.groupby("date")["p90"].sum().reindex(whole["date"]).to_numpy()
    assert (whole["p90"].to_numpy() < summed_p90).all()  # not the sum of the series' P90s
    assert (whole["p10"] <= whole["mean"] * 1.5).all() and (whole["p10"] <= whole["p90"]).all()


def test_submission_is_aligned_row_for_row_with_test_csv(forecast_run, small_data_dir):
    settings, report = forecast_run
    submission = pd.read_csv(settings.storage_dir / submission_key(report.partition_key))
    test = pd.read_csv(small_data_dir / "test.csv")
    assert list(submission.columns) == ["id", "sales"]
    assert submission["id"].tolist() == test["id"].tolist()
    assert (submission.sales >= 0).all() and submission.sales.notna().all()


def test_backtest_metrics_are_metadata_and_in_metrics_json(forecast_run):
    settings, report = forecast_run
    meta = report.materialized["forecast_evaluation"]
    for method in (DEEPAR, *DEFAULT_CHALLENGERS, "published"):
        for metric in ("rmsle", "wape", "mase", "mean_wql", "coverage"):
            assert np.isfinite(meta[f"{method}_{metric}"]), (method, metric)
    metrics = json.loads((settings.storage_dir / evaluation_metrics(report.partition_key)).read_text())
    assert metrics["backtest_windows"] == 3 and len(metrics["windows"]) == 3
    assert metrics["windows"][-1][1] == "2017-08-15" and metrics["windows"][0][0] == "2017-06-29"
    assert set(metrics["candidates"]) == {DEEPAR, *DEFAULT_CHALLENGERS, ENSEMBLE} and not metrics["failed"]
    for candidate in metrics["candidates"].values():
        assert len(candidate["windows"]) == 3 and set(candidate["families"]) == set(metrics["champions"])
    assert set(metrics["champions"].values()) <= {DEEPAR, *DEFAULT_CHALLENGERS, ENSEMBLE}
    assert len(metrics["published"]["nested"]["windows"]) == 3
    coverage = next(c for c in report.checks if c.check == "published_coverage")
    assert coverage.passed == (0.70 <= meta["published_coverage"] <= 0.90)
    backtest = pd.read_parquet(settings.storage_dir / evaluation_backtest(report.partition_key))
    assert len(backtest) == 3 * 12 * 16 and set(backtest["window"]) == {1, 2, 3}


def test_a_failing_challenger_is_left_out_and_the_others_still_compete(settings_for, small_data_dir, monkeypatch):
    from favorita_assets.core import challengers as modeling

    real = modeling.challenger

    def flaky(name, seed=0, threads=None):
        if name == "lightgbm":
            raise RuntimeError("LightGBM ran out of memory")
        return real(name, seed, threads)

    monkeypatch.setattr(modeling, "challenger", flaky)
    settings = settings_for(small_data_dir)
    report = run_pipeline(settings, config=run_config(**FAST))
    assert report.success, report.failures
    metrics = json.loads((settings.storage_dir / evaluation_metrics(report.partition_key)).read_text())
    assert metrics["failed"] == {"lightgbm": "RuntimeError (every series): LightGBM ran out of memory"}
    assert "lightgbm" not in metrics["candidates"] and "lightgbm" not in metrics["champions"].values()
    frame = pd.read_parquet(settings.storage_dir / forecasts_key(report.partition_key))
    assert not frame["model_version"].str.startswith("lightgbm").any()


def test_model_artifact_is_versioned_with_its_data_fingerprint(forecast_run):
    settings, report = forecast_run
    version = report.materialized["deepar_model"]["model_version"]
    info = json.loads((settings.storage_dir / f"models/{version}/model.json").read_text())
    manifest = json.loads((settings.storage_dir / training_prefix("2017-08") / "manifest.json").read_text())
    assert info["training_data_fingerprint"] == manifest["fingerprint"]
    assert info["hyperparameters"]["epochs"] == 2 and len(info["epoch_losses"]) == 2
    assert (settings.storage_dir / f"models/{version}/model.tar.gz").stat().st_size > 0


def test_plots_are_pngs_in_storage_and_in_metadata(forecast_run):
    settings, report = forecast_run
    folder = settings.storage_dir / plots_prefix(report.partition_key)
    for name in ("forecast_total.png", "forecast_largest_series.png", "backtest.png", "backtest_windows.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in report.materialized["forecast_plots"]["forecast_total"]


def test_rerun_reuses_the_model_and_gives_the_same_forecasts(forecast_run):
    settings, report = forecast_run
    before = (settings.storage_dir / forecasts_key(report.partition_key)).read_bytes()
    again = run_pipeline(settings, config=run_config(prediction_length=16, **FAST))
    assert again.success
    assert again.materialized["deepar_model"]["model_version"] == report.materialized["deepar_model"]["model_version"]
    assert (settings.storage_dir / forecasts_key(report.partition_key)).read_bytes() == before


@pytest.mark.parametrize("horizon", [1, 7, 28])
def test_tomorrow_next_week_next_month(horizon, settings_for, small_data_dir):
    report = run_pipeline(settings_for(small_data_dir), config=run_config(prediction_length=horizon, **FAST))
    assert report.success, report.failures
    assert report.materialized["forecasts"]["rows"] == 12 * horizon
    # A submission needs every test.csv day (16) inside the horizon: 28 days cover them, 1 and 7 do not.
    assert ("kaggle_submission" in report.materialized) == (horizon >= 16)
    if horizon == 28:
        assert (
            report.materialized["deepar_training_data"]["promotions_source"]
            == "test.csv: 16 days, estimated (each series' last 4 weeks): 12 days"
        )


def test_a_month_after_the_data_is_refused_and_offered_nowhere(settings_for, small_data_dir):
    instance = DagsterInstance.ephemeral()
    report = run_pipeline(
        settings_for(small_data_dir), partition_key="2017-10", config=run_config(**FAST), instance=instance
    )
    assert not report.success and "deepar_model" not in report.materialized
    assert any(
        "month 2017-10 is after the data, which runs from 2016-06-01 to 2017-08-15" in f for f in report.failures
    )
    # The cut-offs follow the data: from the first month with 120 days of history (a 56-day context, one 16-day
    # horizon to train on, three backtest windows) to the last.
    months = instance.get_dynamic_partitions("cutoff_month")
    assert months[0] == "2016-09" and months[-1] == "2017-08" and len(months) == 12


class DeliberatelyBadDeepAR(LocalDeepAR):
    """The real local model, but every forecast is multiplied by 25."""

    def predict(self, context, storage, model, records, quantiles, cut=0):
        out = super().predict(context, storage, model, records, quantiles, cut)
        return [{k: v * 25 for k, v in f.items()} for f in out]


def test_a_deepar_that_loses_is_published_nowhere(settings_for, small_data_dir):
    settings = settings_for(small_data_dir)
    report = run_pipeline(settings, config=run_config(**FAST), resources={"trainer": DeliberatelyBadDeepAR()})
    assert report.success, report.failures
    metrics = json.loads((settings.storage_dir / evaluation_metrics(report.partition_key)).read_text())
    assert "deepar" not in metrics["champions"].values()
    warning = next(c for c in report.checks if c.check == "deepar_beats_baselines")
    assert not warning.passed and warning.severity == "WARN"
    assert "DeepAR lost the backtest" in warning.description and "worse" in warning.description
    frame = pd.read_parquet(settings.storage_dir / forecasts_key(report.partition_key))
    assert not frame.model_version.str.startswith("deepar").any()
    assert (frame.p10 <= frame.p90).all()


def test_single_family_data_set_forecasts(settings_for, data_dir):
    for name in ("train", "test", "inventory"):  # the inventory snapshot follows the data: one family
        frame = pd.read_csv(data_dir / f"{name}.csv")
        frame[frame.family == "GROCERY I"].to_csv(data_dir / f"{name}.csv", index=False)
    report = run_pipeline(settings_for(data_dir), config=run_config(**FAST))
    assert report.success, report.failures
    assert (
        report.materialized["forecasts"]["rows"] == 3 * 16 and report.materialized["replenishment_plan"]["pairs"] == 3
    )
    assert report.materialized["kaggle_submission"]["rows"] == 3 * 16


def schedule_tick(defs, when: str, instance=None):
    context = build_schedule_context(
        scheduled_execution_time=pd.Timestamp(when, tz="UTC").to_pydatetime(),
        repository_def=defs.get_repository_def(),
        instance=instance,
        resources={"storage": defs.resources["storage"]},
    )
    return defs.get_schedule_def("monthly_retrain").evaluate_tick(context)


def test_monthly_schedule_refreshes_when_the_data_reaches_the_month_and_skips_after(settings_for, small_data_dir):
    defs = build_definitions(settings_for(small_data_dir))
    assert defs.get_schedule_def("monthly_retrain").cron_schedule == "0 3 1 * *"
    (request,) = schedule_tick(defs, "2017-09-01 03:00").run_requests
    assert request.run_key == "monthly-2017-08" and defs.get_schedule_def("monthly_retrain").job_name == "refresh_data"
    later = schedule_tick(defs, "2026-12-01 03:00")
    assert later.run_requests == [] and "no data for 2026-11: train.csv ends 2017-08-15" in later.skip_message


def test_a_backfill_of_three_months_lands_and_cleans_once_and_new_data_starts_one_forecast(
    settings_for, small_data_dir
):
    from dagster import build_sensor_context

    settings = settings_for(small_data_dir)
    instance = DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    pipeline = defs.resolve_job_def("favorita_pipeline")
    assert not {"raw_sales", "cleaned_series"} & {k.to_user_string() for k in pipeline.asset_layer.selected_asset_keys}
    assert defs.resolve_job_def("refresh_data").execute_in_process(instance=instance).success
    sensor = defs.get_sensor_def("forecast_new_data")
    # The daemon evaluates sensors with the instance as the store of dynamic partitions; so does this test.
    with (
        partition_loading_context(dynamic_partitions_store=instance),
        build_sensor_context(instance=instance, definitions=defs) as context,
    ):
        (request,) = sensor.evaluate_tick(context).run_requests
    assert request.partition_key == "2017-08" and request.run_key.startswith("forecast-2017-08-")
    for month in ("2017-05", "2017-06", "2017-07"):  # what a backfill of three months runs
        assert pipeline.execute_in_process(
            instance=instance, partition_key=month, run_config=run_config(**FAST)
        ).success
    count = lambda asset: len(instance.fetch_materializations(AssetKey(asset), limit=100).records)  # noqa: E731
    assert (count("raw_sales"), count("cleaned_series"), count("deepar_model"), count("forecasts")) == (1, 1, 3, 3)
    # A past month is a rolling-origin backtest: its cut-off is the month's last day, its horizon the days after,
    # and its promotions are the ones the cleaned series recorded.
    metadata = lambda asset: {  # noqa: E731
        r.asset_materialization.partition: {k: v.value for k, v in r.asset_materialization.metadata.items()}
        for r in instance.fetch_materializations(AssetKey(asset), limit=100).records
    }
    may = metadata("deepar_training_data")["2017-05"]
    assert may["cutoff"] == "2017-05-31" and may["promotions_source"] == "cleaned_series"
    assert metadata("forecasts")["2017-05"]["horizon"] == "2017-06-01 .. 2017-06-16"
    # The snapshot landed with the sales describes 2017-08-15: May is not planned from that later stock.
    plan = metadata("replenishment_plan")["2017-05"]
    assert plan["planned"] is False
    assert "this cut-off (2017-05-31; the snapshots on record describe 2017-08-15)" in plan["reason"]


def test_sagemaker_format_check_fails_on_a_corrupted_channel(forecast_run, tmp_path):
    from favorita_assets.partitions import CUTOFF_PARTITIONS
    from favorita_assets.settings import Settings

    published, report = forecast_run
    # A copy of a published month's storage (the other tests keep reading the original), one channel corrupted.
    settings = Settings("local", published.data_dir, tmp_path / "storage")
    shutil.copytree(published.storage_dir, settings.storage_dir)
    path = settings.storage_dir / training_prefix(report.partition_key) / "inference" / "data.json"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[3]["dynamic_feat"][0] = records[3]["dynamic_feat"][0][:-1]  # one future day short
    path.write_text("".join(json.dumps(r) + "\n" for r in records))

    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(CUTOFF_PARTITIONS.name, [report.partition_key])
    defs = build_definitions(settings)
    check_keys = {k for k in defs.resolve_asset_graph().asset_check_keys if k.name == "sagemaker_format"}
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_check_selection=check_keys, asset_selection=set()
    )
    result = job.execute_in_process(partition_key=report.partition_key, raise_on_error=False, instance=instance)
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    assert (
        "inference record 4" in evaluation.description and "len(target) + prediction_length" in evaluation.description
    )


def test_christmas_is_forecast_closed_with_a_zero_width_band(settings_for, small_data_dir):
    settings = settings_for(small_data_dir)
    report = run_pipeline(settings, partition_key="2016-11", config=run_config(prediction_length=28, **FAST))
    assert report.success, report.failures
    frame = pd.read_parquet(settings.storage_dir / forecasts_key("2016-11")).assign(
        date=lambda f: pd.to_datetime(f["date"])
    )
    christmas = frame[frame["date"] == "2016-12-25"]
    assert len(christmas) == 12 and christmas["store_closed"].all()
    assert (christmas[["mean", "p10", "p50", "p90"]] == 0).all().all()
    others = frame[frame["date"] != "2016-12-25"]
    assert not others["store_closed"].any() and others["mean"].sum() > 0
    assert report.materialized["forecasts"]["known_closed_series_days"] == 12


def test_a_context_longer_than_the_history_is_refused_before_training(settings_for, small_data_dir):
    report = run_pipeline(
        settings_for(small_data_dir), partition_key="2016-09", config=run_config(context_length=120, **FAST)
    )
    assert not report.success and "deepar_model" not in report.materialized and report.tracebacks == []
    (failure,) = [f for f in report.failures if f.startswith("deepar_model:")]
    assert "month 2016-09 has too little history before it" in failure and "needs 184 days" in failure
    assert "choose a month from 2016-12 to 2017-08" in failure


def test_a_config_the_backtest_cannot_use_is_refused_before_any_work(settings_for, small_data_dir, tmp_path):
    config = {"ops": {"forecast_evaluation": {"config": {"candidates": ["lightgbm"]}}}}
    report = run_pipeline(settings_for(small_data_dir), config=config)
    assert not report.success and report.run_ids == [] and report.materialized == {}
    (failure,) = report.failures
    assert failure.startswith("config: forecast_evaluation's candidates") and "add last_week" in failure
    assert not (tmp_path / "storage").exists() or not any((tmp_path / "storage").rglob("*.parquet"))
