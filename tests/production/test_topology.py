"""Production Dagster on one machine, against the real processes: a PostgreSQL cluster of the test's own (initdb and
pg_ctl on a free port of 127.0.0.1), the code server, the daemon and the webserver, on infra/dagster/dagster.yaml.

One topology serves the module, in this order: the daemons report healthy; the real daemon's schedule tick starts the
data refresh, which passes the run queue and completes, its events read back from Postgres; two training runs run one
after the other; the second one's worker is killed (-9), the run is marked failed, alerted once and retried once;
a restarted daemon starts nothing twice; stopping leaves no process behind.
"""

from __future__ import annotations

import calendar
import os
import re
import shutil
import signal
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterEventType

from favorita_assets.core.sample_data import write_sample_data
from favorita_assets.pipeline import run_config
from favorita_assets.topology import Topology, _group_members, free_port, postgres_bin

SELECTOR = {"repositoryLocationName": "favorita", "repositoryName": "__repository__"}


def _skip_reason() -> str | None:
    if postgres_bin() is None:
        return "PostgreSQL's initdb/pg_ctl are not installed (Debian package `postgresql`): the topology needs a server"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a `postgres` user: initdb refuses root (install Debian's `postgresql`)"
        if shutil.which("runuser") is None:
            return "running as root without `runuser`: initdb refuses root"
    return None


pytestmark = [pytest.mark.production, pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")]


def last_month_end(today: date) -> date:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return date(year, month, calendar.monthrange(year, month)[1])


def wait(what: str, check, timeout: float, every: float = 1.0, state=None):
    """Poll ``check`` until it is truthy; on timeout say what was awaited and, with ``state``, what there was."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}" + (f"; {state()}" if state else "")
            )
        time.sleep(every)


@pytest.fixture(scope="module")
def topology():
    # Not under pytest's tmp_path: that folder is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="favorita-prod-"))
    root.chmod(0o755)
    end = last_month_end(date.today())  # data up to the month that just ended: the schedule's tick has work to do
    start = date(end.year - 1, 6, 1)
    write_sample_data(root / "data", 3, 4, start.isoformat(), end.isoformat(), 7)
    # The schedule fires once, at the whole minute 150 s from now (the topology is up by then): a tick of
    # the real daemon, and the only one during the module (Dagster keys a schedule's runs by their tick's time).
    fire = datetime.now(UTC) + timedelta(seconds=150)
    env = {
        "FAVORITA_DATA_DIR": str(root / "data"),
        "FAVORITA_STORAGE_DIR": str(root / "storage"),
        "FAVORITA_RETRAIN_CRON": f"{fire.minute} {fire.hour} * * *",
    }
    top = Topology(root, env=env, web_port=free_port())
    started = time.monotonic()
    top.start()
    top.started_in = time.monotonic() - started
    try:
        _stop_new_data_sensor(top)
    except BaseException:
        top.stop()
        raise
    yield top
    groups = [p.pid for p in top.processes.values()]
    top.stop()
    assert [g for g in groups if _group_members(g)] == []  # the code server's gRPC child and run workers included
    assert not (root / "pg" / "data" / "postmaster.pid").exists()
    shutil.rmtree(root, ignore_errors=True)


def _stop_new_data_sensor(top: Topology) -> None:
    """The new-data sensor would start a full-length training (100 epochs) after the refresh; this module launches
    its own short ones instead, so it stops that sensor through the UI's API, as an operator would, and reads the
    stopped state back (a training it started would hold the queue's one training slot)."""
    query = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
        ... on Sensor { sensorState { id status } } } }"""
    selector = {"s": {**SELECTOR, "sensorName": "forecast_new_data"}}

    def stopped() -> bool:
        state = top.graphql(query, selector)["sensorOrError"]["sensorState"]
        if state["status"] == "STOPPED":
            return True
        answer = top.graphql(
            "mutation($id: String) { stopSensor(id: $id) { __typename ... on PythonError { message } } }",
            {"id": state["id"]},
        )
        assert answer["stopSensor"]["__typename"] != "PythonError", answer
        return False

    wait("the new-data sensor to be stopped", stopped, 60, every=2.0)


def runs(top: Topology) -> list[dict]:
    data = top.graphql("""{ runsOrError { ... on Runs { results {
        runId jobName status startTime endTime tags { key value } } } } }""")
    return data["runsOrError"]["results"]


def events(top: Topology, run_id: str) -> list[tuple[str, str]]:
    """(event type, message) of a run, straight from the Postgres event log."""
    import psycopg2

    env = top.postgres.environment()
    with (
        psycopg2.connect(
            host=env["DAGSTER_PG_HOST"],
            port=env["DAGSTER_PG_PORT"],
            dbname=env["DAGSTER_PG_DB"],
            user=env["DAGSTER_PG_USER"],
            password=env["DAGSTER_PG_PASSWORD"],
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT dagster_event_type, event FROM event_logs WHERE run_id = %s ORDER BY id", (run_id,))
        # Stored under Dagster's legacy names (PIPELINE_ENQUEUED for RUN_ENQUEUED): named here as the API names them.
        return [(DagsterEventType(kind).name if kind else "", body) for kind, body in cursor.fetchall()]


def launch(top: Topology, month: str, **deepar) -> str:
    answer = top.graphql(
        """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
        __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
        {
            "p": {
                "selector": {**SELECTOR, "jobName": "favorita_pipeline"},
                "runConfigData": run_config(**deepar),
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": month}]},
            }
        },
    )
    assert answer["launchRun"]["__typename"] == "LaunchRunSuccess", answer
    return answer["launchRun"]["run"]["runId"]


def run_of(top: Topology, run_id: str) -> dict:
    (run,) = [r for r in runs(top) if r["runId"] == run_id]
    return run


def every_run(top: Topology) -> list[tuple[str, str, str]]:
    """(job, status, partition) of every run: what a failed wait names."""
    return [
        (r["jobName"], r["status"], {t["key"]: t["value"] for t in r["tags"]}.get("dagster/partition", ""))
        for r in runs(top)
    ]


def test_every_required_daemon_is_healthy_on_the_postgres_instance(topology):
    health = wait("the daemons' heartbeats", lambda: (h := topology.daemon_health()) and all(h.values()) and h, 90)
    assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING", "BACKFILL"} <= set(health)
    info = topology.graphql("{ instance { info runQueuingSupported } }")["instance"]
    assert info["runQueuingSupported"] is True
    assert "PostgresRunStorage" in info["info"] and "QueuedRunCoordinator" in info["info"]
    assert topology.started_in < 120, f"the topology took {topology.started_in:.0f}s to start"


def test_the_daemons_schedule_tick_refreshes_the_data_through_the_queue(topology):
    month = last_month_end(date.today()).strftime("%Y-%m")
    scheduled = wait("the schedule's run", lambda: [r for r in runs(topology) if r["jobName"] == "refresh_data"], 240)
    (run,) = scheduled
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/schedule_name"] == "monthly_retrain" and tags["favorita/month"] == month
    wait("the refresh to finish", lambda: run_of(topology, run["runId"])["status"] in ("SUCCESS", "FAILURE"), 400)
    kinds = [kind for kind, _ in events(topology, run["runId"])]
    assert run_of(topology, run["runId"])["status"] == "SUCCESS", [
        m[-400:] for k, m in events(topology, run["runId"]) if "FAILURE" in k
    ]
    assert (
        kinds.index("RUN_ENQUEUED")
        < kinds.index("RUN_STARTING")
        < kinds.index("RUN_START")
        < kinds.index("RUN_SUCCESS")
    )
    assert kinds.count("ASSET_MATERIALIZATION") >= 7  # the six raw tables and cleaned_series


def test_training_runs_one_at_a_time_and_a_killed_worker_fails_its_run_and_alerts_once(topology):
    month = last_month_end(date.today())
    newest, before = month.strftime("%Y-%m"), (month.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    first = launch(topology, before, epochs=1, num_cells=8)
    assert [
        r for r in every_run(topology) if r[0] == "favorita_pipeline" and r[2] != before
    ] == []  # nothing else trains
    wait(
        "the first training to start",
        lambda: run_of(topology, first)["status"] in ("STARTED", "SUCCESS", "FAILURE"),
        240,
        state=lambda: (
            f"runs: {every_run(topology)}; the daemon's log ends: {topology.log('daemon').read_text()[-2000:]}"
        ),
    )
    second = launch(topology, newest, epochs=500, num_cells=8, early_stopping_patience=500)  # long: killed below
    if run_of(topology, first)["status"] == "STARTED":  # while the first trains, the second waits in the queue
        assert run_of(topology, second)["status"] == "QUEUED"
    wait(
        "the first training to finish",
        lambda: run_of(topology, first)["status"] in ("SUCCESS", "FAILURE"),
        600,
        state=lambda: f"runs: {every_run(topology)}",
    )
    assert run_of(topology, first)["status"] == "SUCCESS", [(r["jobName"], r["status"]) for r in runs(topology)]
    pid = wait("the second run's worker", lambda: _worker_pid(topology, second), 120, every=0.5)
    one, two = run_of(topology, first), run_of(topology, second)
    assert two["startTime"] >= one["endTime"]  # the tag limit (favorita/training: 1) held the second in the queue
    kinds = [kind for kind, _ in events(topology, second)]
    assert kinds.index("RUN_ENQUEUED") < kinds.index("RUN_STARTING")

    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait("the killed run to be marked failed", lambda: run_of(topology, second)["status"] == "FAILURE", 60)
    assert time.monotonic() - killed_at < 60
    messages = [body for _, body in events(topology, second)]
    assert any("Run execution process for" in m and "signal 9 (SIGKILL)" in m for m in messages), messages[-3:]
    # The run-failure sensor is evaluated in the code server (the daemon asks it); LoggedAlerts writes to its log.
    alerts_log = topology.log("code_server")
    alert = "ALERT run_failure"
    wait("the run-failure alert", lambda: _alerts_naming(alerts_log, alert, second), 90)
    (sent,) = _alerts_naming(alerts_log, alert, second)
    assert "signal 9 (SIGKILL)" in sent  # says why: the worker was killed

    # run_retries (infra/dagster/dagster.yaml): a run whose process died is retried once, by the daemon, as a child of
    # the killed run. The retry is the same 500-epoch training: it is cancelled here, and a cancelled run is not
    # retried.
    (retry,) = wait(
        "the daemon's retry of the killed run",
        lambda: _children(topology, second),
        120,
        state=lambda: f"runs: {every_run(topology)}",
    )
    assert _tags(retry)["dagster/retry_number"] == "1" and _tags(retry)["dagster/partition"] == newest
    wait(
        "the retry to be cancelled",
        lambda: _cancelled(topology, retry["runId"]),
        240,
        state=lambda: f"runs: {every_run(topology)}",
    )

    count = len(runs(topology))
    topology.stop_process("daemon")
    restarted = time.time()
    topology.start_process("daemon")
    # The restarted daemon picks up from the state it keeps in Postgres: the schedule's tick is recorded, so it is not
    # run again; the retry is recorded, so the killed run is not retried twice; the run-failure sensor's cursor is
    # past the failure, so no second alert.
    wait("a run-failure sensor tick", lambda: _sensor_tick_after(topology, "alert_on_run_failure", restarted), 90)
    assert len(runs(topology)) == count, every_run(topology)
    assert len([r for r in runs(topology) if r["jobName"] == "refresh_data"]) == 1
    assert [r["runId"] for r in _children(topology, second)] == [retry["runId"]]
    assert len(_alerts_naming(alerts_log, alert, second)) == 1


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def _children(top: Topology, run_id: str) -> list[dict]:
    """The runs launched as re-executions of ``run_id`` (Dagster tags each with its parent)."""
    return [r for r in runs(top) if _tags(r).get("dagster/parent_run_id") == run_id]


def _cancelled(top: Topology, run_id: str) -> bool:
    """Is the run cancelled? If not, ask the UI's API to terminate it (which it refuses while the run is STARTING)."""
    status = run_of(top, run_id)["status"]
    if status in ("QUEUED", "STARTED"):
        answer = top.graphql(
            """mutation($id: String!) { terminateRun(runId: $id) { __typename
            ... on TerminateRunFailure { message } ... on PythonError { message } } }""",
            {"id": run_id},
        )
        assert answer["terminateRun"]["__typename"] in ("TerminateRunSuccess", "TerminateRunFailure"), answer
    return status == "CANCELED"


def _sensor_tick_after(top: Topology, name: str, since: float) -> dict | None:
    """The newest finished tick of sensor ``name`` after ``since`` (epoch seconds), through GraphQL."""
    data = top.graphql(
        """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor {
        sensorState { ticks(limit: 5) { status timestamp runIds skipReason } } } } }""",
        {"s": {**SELECTOR, "sensorName": name}},
    )
    ticks = [
        t for t in data["sensorOrError"]["sensorState"]["ticks"] if t["timestamp"] > since and t["status"] != "STARTED"
    ]
    return ticks[0] if ticks else None


def _worker_pid(top: Topology, run_id: str) -> int | None:
    for _, body in events(top, run_id):
        found = re.search(r"Started process for run \(pid: (\d+)\)", body)
        if found and run_of(top, run_id)["status"] == "STARTED":
            return int(found.group(1))
    return None


def _alerts(log: Path, marker: str) -> list[str]:
    """The text of every alert of that kind in ``log`` (its subject line and the lines after it), one per alert."""
    text = log.read_text(errors="replace")
    return ["\n".join(chunk.splitlines()[:6]) for chunk in text.split(marker)[1:]]


def _alerts_naming(log: Path, marker: str, run_id: str) -> list[str]:
    return [alert for alert in _alerts(log, marker) if run_id in alert]
