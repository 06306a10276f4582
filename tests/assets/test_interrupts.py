"""Ctrl-C and SIGTERM during `favorita run`, sent to a real process: one line, exit 130 / 143, outputs unchanged."""

import os
import signal
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize(
    ("signum", "code", "stage"),
    [(signal.SIGINT, 130, "stage 4/9 (train DeepAR)"), (signal.SIGTERM, 143, "stage 2/9 (clean the series)")],
)
def test_a_signal_stops_the_run_with_one_line_and_leaves_earlier_outputs(small_data_dir, tmp_path, signum, code, stage):
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "planner_report.html"
    earlier.write_text("the report an earlier run published")
    wait_for = stage.split("(")[1].rstrip(")")
    # stderr goes to a file, not a second pipe: a full stderr pipe that nobody reads would stall the run
    with (tmp_path / "stderr.txt").open("w") as stderr_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "favorita_assets.cli", "run", "--data", str(small_data_dir), "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            env={**os.environ, "PYTHONPATH": REPO},
            start_new_session=True,  # the signal goes to the whole group, as a terminal's Ctrl-C does
        )
        for line in process.stdout:
            if wait_for in line:
                os.killpg(process.pid, signum)
                break
        stdout, _ = process.communicate(timeout=120)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert process.returncode == code
    assert stderr.strip().splitlines() == [
        f"[favorita] interrupted in {stage}; published outputs unchanged; run again to continue"
    ]
    for text in (stdout, stderr):
        assert "Traceback" not in text and "Stack Trace" not in text and "KeyboardInterrupt" not in text
    assert earlier.read_text() == "the report an earlier run published"
