"""The `favorita` command as a user runs it."""

import subprocess
import sys

import pandas as pd

from favorita_assets.cli import main


def test_sample_data_command_writes_six_files(tmp_path):
    code = main(["sample-data", "--out", str(tmp_path), "--stores", "2", "--families", "3",
                 "--start", "2017-06-01", "--end", "2017-08-15", "--seed", "4"])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == sorted(
        ["train.csv", "test.csv", "stores.csv", "oil.csv", "holidays_events.csv", "transactions.csv"]
    )
    assert pd.read_csv(tmp_path / "train.csv").store_nbr.nunique() == 2


def test_run_command_end_to_end(small_data_dir, tmp_path, capsys):
    code = main(["run", "--data", str(small_data_dir), "--out", str(tmp_path / "out"), "--epochs", "2"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "materialized forecast_plots" in printed and "0 failed" in printed and "published:" in printed
    forecasts = pd.read_csv(tmp_path / "out/forecasts.csv")
    assert list(forecasts.columns) == ["date", "store_nbr", "family", "mean", "p10", "p50", "p90", "model_version"]
    assert len(pd.read_csv(tmp_path / "out/submission.csv")) == len(pd.read_csv(small_data_dir / "test.csv"))
    for name in ("metrics.json", "plots/forecast_total.png", "plots/backtest.png", "plots/forecast_largest_series.png"):
        assert (tmp_path / "out" / name).is_file(), name


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
    assert main(["sample-data", "--out", str(tmp_path), "--stores", "99"]) == 2
    assert "--stores must be between 1 and 54" in capsys.readouterr().err


def test_outputs_of_an_earlier_run_are_not_passed_off_as_new(small_data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--data", str(small_data_dir), "--out", str(out), "--epochs", "2"]) == 0
    assert (out / "submission.csv").is_file()
    # A 7-day horizon does not cover test.csv: this run makes no submission, so the 16-day one must not linger.
    assert main(["run", "--data", str(small_data_dir), "--out", str(out), "--epochs", "2", "--prediction-length", "7"]) == 0
    assert not (out / "submission.csv").exists()
    assert pd.read_csv(out / "forecasts.csv")["date"].nunique() == 7
    assert "submission" not in capsys.readouterr().out.split("Outputs:")[-1]
