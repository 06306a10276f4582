"""Arguments a user gets wrong: one line on stderr, exit 2, no traceback, nothing written; files readable as a plain
write would leave them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "ops_jobs" / "examples" / "promotion_scenario.csv"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "favorita_assets.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def refused(result, words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("[favorita] ") and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr and "Stack Trace" not in result.stderr


def test_sample_data_refuses_zero_stores_before_announcing_anything(tmp_path):
    refused(run_cli("sample-data", "--out", tmp_path / "d", "--stores", "0"), "--stores must be between 1 and 1,000")
    assert not (tmp_path / "d").exists()


def test_run_on_a_file_says_it_is_a_file_and_names_its_folder(small_data_dir, tmp_path):
    result = run_cli("run", "--data", small_data_dir / "train.csv", "--out", tmp_path / "out")
    refused(result, f"is a file, not a folder: give --data {small_data_dir} ")
    assert not (tmp_path / "out").exists()


def test_run_on_an_empty_folder_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    refused(run_cli("run", "--data", tmp_path / "empty", "--out", tmp_path / "out"), "holds no train.csv")
    assert not (tmp_path / "out").exists()


def _published(out: Path, months=("2017-07", "2017-08")) -> None:
    """What a what-if looks for in OUT/storage: a published forecasts file per month."""
    for month in months:
        path = out / "storage" / "forecasts" / f"cutoff_month={month}" / "forecasts.parquet"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"PAR1")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--scenario", "missing.csv"], "--scenario missing.csv: the file does not exist; give a scenario CSV"),
        (
            ["--month", "2017-13"],
            "--month 2017-13: not a published cut-off month; the months that work: 2017-07, 2017-08",
        ),
        (["--month", "2016-01"], "the months that work: 2017-07, 2017-08"),
    ],
)
def test_what_if_checks_its_arguments_like_run(tmp_path, args, words):
    out = tmp_path / "out"
    _published(out)
    (out / "planner_report.html").write_text("the published report")
    result = run_cli("what-if", "--out", out, *(["--scenario", SCENARIO] if "--scenario" not in args else []), *args)
    refused(result, words)
    assert (out / "planner_report.html").read_text() == "the published report"


def test_what_if_before_any_run_says_to_run_first(tmp_path):
    refused(
        run_cli("what-if", "--scenario", SCENARIO, "--out", tmp_path / "out"),
        f"run `favorita run --out {tmp_path / 'out'}` first",
    )


def test_ui_on_a_folder_without_a_run_says_what_to_run(tmp_path):
    refused(run_cli("ui", "--out", tmp_path), "holds no run of `favorita run`")


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_stored_and_exported_files_get_the_mode_of_a_plain_write(tmp_path, umask, mode):
    from favorita_assets.resources.storage import LocalStorage, atomic_write_bytes

    previous = os.umask(umask)
    try:
        storage = LocalStorage(root=str(tmp_path / "storage"))
        storage.write_bytes("reports/planner_report.html", b"<html></html>")
        source = tmp_path / "plan.csv"
        source.write_text("a\n")
        storage.put_file(source, "reports/plan.csv")
        atomic_write_bytes(tmp_path / "out" / "planner_report.html", b"<html></html>")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(previous)
    for path in (
        tmp_path / "storage/reports/planner_report.html",
        tmp_path / "storage/reports/plan.csv",
        tmp_path / "out/planner_report.html",
        plain,
    ):
        assert path.stat().st_mode & 0o777 == mode, path


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--file", "missing.csv"], "--file missing.csv: the file does not exist; give an override CSV"),
        (
            ["--file", REPO / "ops_jobs" / "examples" / "overrides.csv", "--month", "2017-05"],
            "--month 2017-05: not a published cut-off month; the months that work: 2017-07, 2017-08",
        ),
    ],
)
def test_override_checks_its_arguments_like_what_if(tmp_path, args, words):
    out = tmp_path / "out"
    _published(out)
    refused(run_cli("override", "--out", out, *args), words)
