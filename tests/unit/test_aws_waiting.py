"""Waiting on an AWS job: a run that is terminated, or a job that outlasts its wait, stops the job so it does not run
on, billed, with nobody waiting for it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from dagster import DagsterExecutionInterruptedError

from favorita_assets.aws.clients import AwsJobFailed, wait_for


def waiting(monkeypatch, stop, *, deadline: float = 3600, interrupt: BaseException | None = None) -> list[str]:
    """wait_for on a job that stays InProgress; the first sleep raises ``interrupt`` (Dagster terminating the run,
    or SIGTERM, which Dagster turns into SIGINT); returns the log lines."""

    def sleep(_seconds):
        if interrupt is not None:
            raise interrupt

    monkeypatch.setattr("favorita_assets.aws.clients._sleep", sleep)
    lines: list[str] = []
    wait_for(
        "training job j",
        lambda: {"TrainingJobStatus": "InProgress"},
        "TrainingJobStatus",
        {"Completed"},
        {"Failed"},
        deadline,
        lines.append,
        first_delay=1,
        longest_delay=1,
        stop=stop,
    )
    return lines


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), DagsterExecutionInterruptedError()])
def test_a_terminated_run_stops_the_job_it_waits_on(monkeypatch, interrupt):
    stopped: list[str] = []
    with pytest.raises(type(interrupt)):
        waiting(monkeypatch, lambda: stopped.append("j"), interrupt=interrupt)
    assert stopped == ["j"]


def test_a_job_past_its_wait_is_stopped_and_a_refused_stop_keeps_the_runs_own_error(monkeypatch):
    stopped: list[str] = []
    with pytest.raises(AwsJobFailed, match="still InProgress after 0s: stopped it"):
        waiting(monkeypatch, lambda: stopped.append("j"), deadline=0)
    assert stopped == ["j"]

    def refused():  # the job ended between the last poll and the stop
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "job is Completed"}}, "StopTrainingJob")

    with pytest.raises(DagsterExecutionInterruptedError):
        waiting(monkeypatch, refused, interrupt=DagsterExecutionInterruptedError())
    with pytest.raises(AwsJobFailed, match="stop it in the console"):
        waiting(monkeypatch, refused, deadline=0)
