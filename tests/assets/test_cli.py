"""The `favorita` command as a user runs it."""

import contextlib
import io
import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest

from favorita_assets.cli import main


def test_sample_data_command_writes_the_six_kaggle_files_and_an_inventory_snapshot(tmp_path):
    code = main(
        [
            "sample-data",
            "--out",
            str(tmp_path),
            "--stores",
            "2",
            "--families",
            "3",
            "--start",
            "2017-06-01",
            "--end",
            "2017-08-15",
            "--seed",
            "4",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == sorted(
        ["train.csv", "test.csv", "stores.csv", "oil.csv", "holidays_events.csv", "transactions.csv", "inventory.csv"]
    )
    assert pd.read_csv(tmp_path / "train.csv").store_nbr.nunique() == 2


@pytest.fixture(scope="module")
def two_runs(small_data_dir, tmp_path_factory):
    """What a user does most: a run with the defaults (in-process, its printed output captured), then a second run
    into the same folder with a 7-day horizon, as a separate process whose stdout is not a terminal. Each test below
    reads one of them; the first run's outputs are kept, as they were before the second replaced them."""
    root = tmp_path_factory.mktemp("cli_runs")
    out = root / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["run", "--data", str(small_data_dir), "--out", str(out), "--epochs", "2"])
    first = root / "first"
    shutil.copytree(out, first, symlinks=True)
    second = run_cli("run", "--data", small_data_dir, "--out", out, "--epochs", "2", "--prediction-length", "7")
    return SimpleNamespace(code=code, printed=printed.getvalue(), first=first, out=out, second=second)


def test_run_command_end_to_end(two_runs, small_data_dir):
    code, printed, first = two_runs.code, two_runs.printed, two_runs.first
    assert code == 0
    assert "materialized forecast_plots" in printed and "0 failed" in printed and "published:" in printed
    assert "materialized replenishment_plan" in printed and (first / "planner_report.html").is_file()
    plan = pd.read_csv(first / "replenishment_plan.csv")
    assert (
        len(plan) == len(pd.read_csv(small_data_dir / "inventory.csv"))
        and str(two_runs.out / "planner_report.html") in printed
    )
    forecasts = pd.read_csv(first / "forecasts.csv")
    assert list(forecasts.columns) == [
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
    assert len(pd.read_csv(first / "submission.csv")) == len(pd.read_csv(small_data_dir / "test.csv"))
    for name in ("metrics.json", "plots/forecast_total.png", "plots/backtest.png", "plots/forecast_largest_series.png"):
        assert (first / name).is_file(), name


def test_run_command_reports_bad_input_without_traceback(data_dir, tmp_path):
    (data_dir / "stores.csv").write_text("store_nbr,city,state,type\n1,Quito,Pichincha,D\n")
    result = subprocess.run(
        [sys.executable, "-m", "favorita_assets.cli", "run", "--data", str(data_dir), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "stores.csv: required column 'cluster' is missing" in result.stderr
    assert "what to do:" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_generator_arguments_are_reported(tmp_path, capsys):
    assert main(["sample-data", "--out", str(tmp_path), "--stores", "1001"]) == 2
    assert "--stores must be between 1 and 1,000" in capsys.readouterr().err


def test_outputs_of_an_earlier_run_are_not_passed_off_as_new(two_runs):
    out, second = two_runs.out, two_runs.second
    assert second.returncode == 0, second.stderr
    # A 7-day horizon does not cover test.csv: this run makes no submission, so the 16-day one must not linger.
    assert (two_runs.first / "submission.csv").is_file() and not (out / "submission.csv").exists()
    assert not list((out / "storage" / "submissions").rglob("submission.csv"))  # not left in storage either
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert forecasts["date"].nunique() == 7 and sorted(forecasts["days_ahead"].unique()) == list(range(1, 8))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["prediction_length"] == 7 and metrics["horizon"] == ["2017-08-16", "2017-08-22"]
    assert "submission" not in second.stdout.split("Outputs:")[-1]


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "favorita_assets.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["--month", "2030-01"],
            "--month 2030-01: month 2030-01 is after the data, which runs from 2016-06-01 to "
            "2017-08-15; land newer data, or choose a month from 2016-09 to 2017-08",
        ),
        (["--month", "2017-8"], "--month 2017-8: month '2017-8' is not a month written YYYY-MM"),
        (["--month", "2016-06"], "--month 2016-06: month 2016-06 has too little history before it"),
        (["--prediction-length", "0"], "--prediction-length 0: a horizon must be 1 to 365 days (default 16"),
        (["--prediction-length", "400"], "--prediction-length 400: a horizon must be 1 to 365 days"),
        (["--epochs", "0"], "--epochs 0: DeepAR needs at least 1 training epoch"),
        (
            ["--prediction-length", "300"],
            "the data's last month (2017-08): the data (2016-06-01 to 2017-08-15) is "
            "shorter than the 1500 days of history a 300-day forecast needs",
        ),
    ],
)
def test_bad_arguments_are_refused_in_one_line_before_any_work(small_data_dir, tmp_path, args, expected):
    out = tmp_path / "out"
    result = run_cli("run", "--data", small_data_dir, "--out", out, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("[favorita] ") and expected in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not out.exists()  # nothing was landed or cleaned


def test_a_data_error_is_its_message_alone_on_stdout_and_stderr(data_dir, tmp_path):
    (data_dir / "stores.csv").write_text("store_nbr,city,state,type\n1,Quito,Pichincha,D\n")
    result = run_cli("run", "--data", data_dir, "--out", tmp_path / "out")
    assert result.returncode == 1
    summary = result.stdout.strip().splitlines()
    assert any(
        "[favorita] the run failed: raw_stores: stores.csv: required column 'cluster' is missing" in line
        for line in summary
    ), result.stdout
    for stream in (result.stdout, result.stderr):
        assert "Stack Trace" not in stream and "Traceback" not in stream and "dagster._core" not in stream


def test_a_quiet_run_shows_stages_and_training_progress_and_records_its_runs(two_runs):
    from dagster import DagsterInstance

    result = two_runs.second
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    stages = [line.split("]")[0] + "]" for line in lines if line.startswith("[") and "/9]" in line]
    assert stages == [f"[{i}/9]" for i in range(1, 10)]
    assert any("training: epoch 2/2 loss" in line for line in lines)  # plain lines: stdout is not a terminal
    assert any("forecasts: series 12/12" in line for line in lines)
    assert " - dagster - " not in result.stdout and result.stderr == "", result.stderr  # no log, no warnings
    with DagsterInstance.from_config(str(two_runs.out / "dagster_home")) as instance:  # `dagster dev` shows these
        runs = instance.get_runs()
    assert {r.job_name for r in runs} == {"refresh_data", "favorita_pipeline"} and len(runs) == 4  # both runs'


def test_prod_local_status_and_stop_say_when_nothing_runs(tmp_path, capsys):
    assert main(["prod-local", "status", "--root", str(tmp_path)]) == 1
    assert "not running" in capsys.readouterr().out
    assert main(["prod-local", "stop", "--root", str(tmp_path)]) == 0
    assert "nothing was running" in capsys.readouterr().out


def test_the_retrain_schedule_time_is_a_setting_and_a_bad_one_is_named():
    from favorita_assets.definitions import build_definitions
    from favorita_assets.settings import Settings, SettingsError

    settings = Settings.from_env({"FAVORITA_RETRAIN_CRON": "30 4 2 * *"})
    assert build_definitions(settings).get_schedule_def("monthly_retrain").cron_schedule == "30 4 2 * *"
    with pytest.raises(SettingsError, match="FAVORITA_RETRAIN_CRON='monthly' is not a cron expression"):
        Settings.from_env({"FAVORITA_RETRAIN_CRON": "monthly"})
