"""`favorita ui --out OUT` after a run, from another folder, as a newcomer opens it: the run's instance, data and
storage; no community dialog; the schedule and the new-data sensor stopped, so nothing runs and nothing turns red;
Ctrl-C stops it with one line. Starts real processes (dagster dev), so it runs with `make test-production`."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from favorita_assets.topology import free_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.production

QUERY = """{ shouldShowNux
  runsOrError { ... on Runs { results { jobName status } } }
  repositoriesOrError { ... on RepositoryConnection { nodes {
    sensors { name sensorState { status } } schedules { name scheduleState { status } } } } } }"""


def test_favorita_ui_opens_the_run_with_nothing_running_and_nothing_red(small_data_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "FAVORITA_"))}
    env["PYTHONPATH"] = str(REPO)
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "favorita_assets.cli"]
    run = subprocess.run(
        [*cli, "run", "--data", str(small_data_dir), "--out", str(out), "--epochs", "1", "--prediction-length", "7"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr
    assert f"favorita ui --out {out.resolve()}" in run.stdout
    elsewhere = tmp_path / "elsewhere"  # no pyproject.toml, no workspace.yaml: the module is named explicitly
    elsewhere.mkdir()
    port = free_port()
    # its output goes to files, not pipes: dagster's logs would fill a pipe nobody reads while the test waits
    out_file, err_file = (tmp_path / "ui.out").open("w"), (tmp_path / "ui.err").open("w")
    ui = subprocess.Popen(
        [*cli, "ui", "--out", str(out), "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=out_file,
        stderr=err_file,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                answer = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=5).json()
                if answer.get("data", {}).get("repositoriesOrError", {}).get("nodes"):
                    break
            except requests.RequestException:
                pass
            assert ui.poll() is None and time.monotonic() < deadline, "favorita ui did not start"
            time.sleep(2)
        time.sleep(35)  # a sensor tick's interval: the daemon has had its chance to start something
        answer = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=30).json()["data"]
        assert answer["shouldShowNux"] is False
        runs = answer["runsOrError"]["results"]
        assert sorted((r["jobName"], r["status"]) for r in runs) == [
            ("favorita_pipeline", "SUCCESS"),
            ("refresh_data", "SUCCESS"),
        ]
        (repo,) = answer["repositoriesOrError"]["nodes"]
        states = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
        assert states["forecast_new_data"] == "STOPPED"
        assert {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]} == {"monthly_retrain": "STOPPED"}
    finally:
        os.killpg(ui.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        ui.wait(timeout=60)
        out_file.close()
        err_file.close()
    stdout, stderr = (tmp_path / "ui.out").read_text(), (tmp_path / "ui.err").read_text()
    assert ui.returncode == 130
    assert "the schedule and the new-data sensor are stopped" in stdout
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "[favorita] the UI stopped; the runs and outputs are unchanged"
