"""The forecasting half of the graph on generated data: channels, model, backtest, forecasts, submission, plots."""

import json

import numpy as np
import pandas as pd
import pytest
from dagster import build_schedule_context

from dagster import DefaultScheduleStatus

from favorita_assets.automation import monthly_schedule

monthly_retrain = monthly_schedule(DefaultScheduleStatus.RUNNING)
from favorita_assets.definitions import build_definitions
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.resources.training import LocalDeepAR
from favorita_assets.storage_keys import forecasts as forecasts_key
from favorita_assets.storage_keys import plots_prefix, training_prefix
from favorita_assets.storage_keys import submission as submission_key

FAST = {"epochs": 2, "num_cells": 8}


@pytest.fixture(scope="module")
def forecast_run(small_data_dir, tmp_path_factory):
    from favorita_assets.settings import Settings

    settings = Settings("local", small_data_dir, tmp_path_factory.mktemp("storage"))
    report = run_pipeline(settings, config=run_config(prediction_length=16, **FAST))
    return settings, report


def test_every_asset_materializes_for_the_latest_cutoff(forecast_run):
    _, report = forecast_run
    assert report.success, report.failures
    assert report.partition_key == "2017-08-01"
    assert {"deepar_training_data", "deepar_model", "forecast_evaluation", "forecasts", "kaggle_submission",
            "forecast_plots"} <= set(report.materialized)  # fmt: skip
    failed = {(c.asset, c.check) for c in report.failed_checks if c.severity != "WARN"}
    assert not failed
    assert any(c.check == "sagemaker_format" and c.passed for c in report.checks)


def test_forecasts_table(forecast_run, small_data_dir):
    settings, report = forecast_run
    frame = pd.read_parquet(settings.storage_dir / forecasts_key(report.partition_key))
    assert list(frame.columns) == ["date", "store_nbr", "family", "mean", "p10", "p50", "p90", "model_version"]
    assert len(frame) == 12 * 16
    test = pd.read_csv(small_data_dir / "test.csv", parse_dates=["date"])
    assert set(pd.to_datetime(frame["date"])) == set(test["date"])
    assert (frame[["mean", "p10", "p50", "p90"]] >= 0).all().all()
    assert (frame.p10 <= frame.p50).all() and (frame.p50 <= frame.p90).all()
    version = report.materialized["deepar_model"]["model_version"]
    expected = version if report.materialized["forecast_evaluation"]["champion"] == "deepar" else "baseline-"
    assert frame.model_version.iloc[0].startswith(expected)


def test_submission_is_aligned_row_for_row_with_test_csv(forecast_run, small_data_dir):
    settings, report = forecast_run
    submission = pd.read_csv(settings.storage_dir / submission_key(report.partition_key))
    test = pd.read_csv(small_data_dir / "test.csv")
    assert list(submission.columns) == ["id", "sales"]
    assert submission["id"].tolist() == test["id"].tolist()
    assert (submission.sales >= 0).all() and submission.sales.notna().all()


def test_backtest_metrics_are_metadata(forecast_run):
    _, report = forecast_run
    meta = report.materialized["forecast_evaluation"]
    for method in ("deepar", "last_week", "mean_last_4_weekdays"):
        for metric in ("rmsle", "wape", "mase", "mean_wql"):
            assert np.isfinite(meta[f"{method}_{metric}"]), (method, metric)
    assert meta["champion"] in {"deepar", "last_week", "mean_last_4_weekdays"}


def test_model_artifact_is_versioned_with_its_data_fingerprint(forecast_run):
    settings, report = forecast_run
    version = report.materialized["deepar_model"]["model_version"]
    info = json.loads((settings.storage_dir / f"models/{version}/model.json").read_text())
    manifest = json.loads((settings.storage_dir / training_prefix("2017-08-01") / "manifest.json").read_text())
    assert info["training_data_fingerprint"] == manifest["fingerprint"]
    assert info["hyperparameters"]["epochs"] == 2 and len(info["epoch_losses"]) == 2
    assert (settings.storage_dir / f"models/{version}/model.tar.gz").stat().st_size > 0


def test_plots_are_pngs_in_storage_and_in_metadata(forecast_run):
    settings, report = forecast_run
    folder = settings.storage_dir / plots_prefix(report.partition_key)
    for name in ("forecast_total.png", "forecast_largest_series.png", "backtest.png"):
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
        assert report.materialized["deepar_training_data"]["promotions_source"] == "test.csv: 16 days, none (assumed 0): 12 days"


def test_a_past_month_is_a_rolling_origin_backtest(settings_for, small_data_dir):
    report = run_pipeline(settings_for(small_data_dir), partition_key="2017-05-01", config=run_config(**FAST))
    assert report.success, report.failures
    assert report.materialized["deepar_training_data"]["cutoff"] == "2017-05-31"
    assert report.materialized["forecasts"]["horizon"] == "2017-06-01 .. 2017-06-16"
    assert report.materialized["deepar_training_data"]["promotions_source"] == "cleaned_series"


def test_a_month_after_the_data_is_refused(settings_for, small_data_dir):
    report = run_pipeline(settings_for(small_data_dir), partition_key="2017-10-01", config=run_config(**FAST))
    assert not report.success
    assert any("partition 2017-10 starts after the data ends (2017-08-15)" in f for f in report.failures)


class DeliberatelyBadDeepAR(LocalDeepAR):
    """The real local model, but every forecast is multiplied by 25."""

    def predict(self, context, storage, model, records, quantiles, cut=0):
        out = super().predict(context, storage, model, records, quantiles, cut)
        return [{k: v * 25 for k, v in f.items()} for f in out]


def test_champion_rule_publishes_the_baseline_when_deepar_loses(settings_for, small_data_dir):
    settings = settings_for(small_data_dir)
    report = run_pipeline(settings, config=run_config(**FAST), resources={"trainer": DeliberatelyBadDeepAR()})
    assert report.success, report.failures
    evaluation = report.materialized["forecast_evaluation"]
    assert evaluation["champion"] in {"last_week", "mean_last_4_weekdays"}
    warning = next(c for c in report.checks if c.check == "deepar_beats_baselines")
    assert not warning.passed and warning.severity == "WARN"
    assert "DeepAR lost the backtest" in warning.description and "worse" in warning.description
    frame = pd.read_parquet(settings.storage_dir / forecasts_key(report.partition_key))
    assert frame.model_version.iloc[0] == f"baseline-{evaluation['champion']}-2017-08"
    assert (frame.p10 <= frame.p90).all()


def test_single_family_data_set_forecasts(settings_for, data_dir):
    for name in ("train", "test"):
        frame = pd.read_csv(data_dir / f"{name}.csv")
        frame[frame.family == "GROCERY I"].to_csv(data_dir / f"{name}.csv", index=False)
    report = run_pipeline(settings_for(data_dir), config=run_config(**FAST))
    assert report.success, report.failures
    assert report.materialized["forecasts"]["rows"] == 3 * 16
    assert report.materialized["kaggle_submission"]["rows"] == 3 * 16


def test_monthly_schedule_runs_the_month_that_just_ended(settings_for, small_data_dir):
    assert monthly_retrain.cron_schedule == "0 3 1 * *"
    defs = build_definitions(settings_for(small_data_dir))
    context = build_schedule_context(
        scheduled_execution_time=pd.Timestamp("2017-09-01 03:00", tz="UTC").to_pydatetime(),
        repository_def=defs.get_repository_def(),
    )
    request = monthly_retrain.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2017-08-01" and request.run_key == "monthly-2017-08-01"


def test_sagemaker_format_check_fails_on_a_corrupted_channel(settings_for, small_data_dir):
    settings = settings_for(small_data_dir)
    assert run_pipeline(settings, config=run_config(**FAST)).success
    path = settings.storage_dir / training_prefix("2017-08-01") / "inference" / "data.json"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[3]["dynamic_feat"][0] = records[3]["dynamic_feat"][0][:-1]  # one future day short
    path.write_text("".join(json.dumps(r) + "\n" for r in records))

    defs = build_definitions(settings)
    check_keys = {k for k in defs.resolve_asset_graph().asset_check_keys if k.name == "sagemaker_format"}
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_check_selection=check_keys, asset_selection=set())
    result = job.execute_in_process(partition_key="2017-08-01", raise_on_error=False)
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    assert "inference record 4" in evaluation.description and "len(target) + prediction_length" in evaluation.description
