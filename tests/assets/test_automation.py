"""Automation on a laptop starts nothing unasked, and never forecasts a month again from the same cleaned version."""

from dagster import (
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_sensor_context,
    partition_loading_context,
)

from favorita_assets.definitions import build_definitions
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.settings import Settings

FAST = {"epochs": 1, "num_cells": 8, "mini_batch_size": 16}  # small batches: a test trains in seconds


def _tick(defs, instance):
    with (
        partition_loading_context(dynamic_partitions_store=instance),
        build_sensor_context(instance=instance, definitions=defs) as context,
    ):
        return defs.get_sensor_def("forecast_new_data").evaluate_tick(context)


def test_locally_the_schedule_and_new_data_sensor_start_stopped_and_say_how_to_turn_them_on(tmp_path):
    local = build_definitions(Settings.from_env({"FAVORITA_STORAGE_DIR": str(tmp_path)}))
    sensor, schedule = local.get_sensor_def("forecast_new_data"), local.get_schedule_def("monthly_retrain")
    assert sensor.default_status == DefaultSensorStatus.STOPPED
    assert schedule.default_status == DefaultScheduleStatus.STOPPED
    assert "turn it on with the toggle" in sensor.description and "FAVORITA_AUTOMATION=running" in sensor.description
    assert "turn it on with the toggle" in schedule.description
    assert local.get_sensor_def("alert_on_run_failure").default_status == DefaultSensorStatus.RUNNING  # starts no run
    production = build_definitions(
        Settings.from_env({"FAVORITA_STORAGE_DIR": str(tmp_path), "FAVORITA_AUTOMATION": "running"})
    )
    assert production.get_sensor_def("forecast_new_data").default_status == DefaultSensorStatus.RUNNING
    assert production.get_schedule_def("monthly_retrain").default_status == DefaultScheduleStatus.RUNNING
    assert "toggle" not in production.get_sensor_def("forecast_new_data").description


def test_a_bad_automation_setting_is_named():
    import pytest

    from favorita_assets.settings import SettingsError

    with pytest.raises(SettingsError, match="FAVORITA_AUTOMATION='sometimes': use one of running, stopped"):
        Settings.from_env({"FAVORITA_AUTOMATION": "sometimes"})


def test_the_sensor_never_forecasts_again_a_month_published_from_the_same_cleaned_version(settings_for, data_dir):
    import pandas as pd

    settings = settings_for(data_dir)
    instance = DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    # published by `favorita run` with settings of its own (1 epoch), not the sensor's
    assert run_pipeline(settings, config=run_config(**FAST), instance=instance).success
    result = _tick(defs, instance)
    assert result.run_requests == [] and "2017-08 is already forecast from cleaned version" in result.skip_message
    # the same data refreshed again (a later cleaned_series event, the same version): still nothing to do
    assert defs.resolve_job_def("refresh_data").execute_in_process(instance=instance).success
    result = _tick(defs, instance)
    assert result.run_requests == [] and "already forecast" in result.skip_message
    # a corrected figure makes a new cleaned version: that one is forecast, once
    train = pd.read_csv(data_dir / "train.csv")
    train.loc[train.index[-1], "sales"] += 1.0
    train.to_csv(data_dir / "train.csv", index=False)
    assert defs.resolve_job_def("refresh_data").execute_in_process(instance=instance).success
    (request,) = _tick(defs, instance).run_requests
    assert request.partition_key == "2017-08" and request.tags["favorita/cleaned_version"] in request.run_key
