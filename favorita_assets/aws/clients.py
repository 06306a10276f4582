"""Every boto3 client of the AWS backend, built in one place with retries, timeouts and the endpoint override.

``FavoritaAws`` extends dagster-aws's ``S3Resource`` (its region, endpoint, credentials and ``max_attempts`` settings)
with connect and read timeouts and a ``client(service)`` for the other services the pipeline calls (Glue,
SageMaker, SageMaker Runtime). ``endpoint_url`` (``AWS_ENDPOINT_URL``) reaches every client, which is how the tests
point the whole backend at a local emulator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from dagster import DagsterExecutionInterruptedError, Failure
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr


class AwsJobFailed(Failure):
    """A Glue or SageMaker job (or endpoint) that ended in failure: the asset fails with this plain message, no
    traceback, and is not retried."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description, allow_retries=False)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # one name the tests can replace, without touching time.sleep for every thread


def wait_for(
    what: str,
    describe: Callable[[], dict],
    status_key: str,
    done: set[str],
    failed: set[str],
    deadline_seconds: float,
    log: Callable[[str], None],
    *,
    first_delay: float,
    longest_delay: float,
    error: type[AwsJobFailed] = AwsJobFailed,
    reason_keys: Iterable[str] = ("FailureReason",),
    stop: Callable[[], object] | None = None,
) -> dict:
    """Poll ``describe`` until its ``status_key`` is in ``done`` (the answer is returned) or in ``failed`` (``error``
    is raised with the service's reason), backing off from ``first_delay`` by 1.6x to ``longest_delay``. When the
    run is terminated meanwhile, ``stop`` stops the job first, so nothing is left running and billing."""
    try:
        delay, started, last = first_delay, time.monotonic(), None
        while True:
            response = describe()
            status = response[status_key]
            detail = response.get("SecondaryStatus")
            if (status, detail) != last:
                log(f"{what}: {status}" + (f" ({detail})" if detail else ""))
                last = (status, detail)
            if status in done:
                return response
            if status in failed:
                reason = next((response[k] for k in reason_keys if response.get(k)), None) or "AWS gave no reason"
                raise error(f"{what} ended {status}: {reason}")
            if time.monotonic() - started > deadline_seconds:
                if stop is not None and _stopped(what, stop, log, f"still {status} after {deadline_seconds:.0f}s"):
                    raise error(f"{what} still {status} after {deadline_seconds:.0f}s: stopped it")
                raise error(f"{what} still {status} after {deadline_seconds:.0f}s; stop it in the console")
            _sleep(delay)
            delay = min(delay * 1.6, longest_delay)
    except (KeyboardInterrupt, DagsterExecutionInterruptedError):
        # Dagster raises these in the step when the run is terminated: from the UI, by run monitoring (a run past its
        # dagster/max_runtime) or by SIGTERM to the run's task (ECS StopTask), which Dagster maps to an interrupt.
        if stop is not None:
            _stopped(what, stop, log, "the run was terminated")
        raise


def _stopped(what: str, stop: Callable[[], object], log: Callable[[str], None], why: str) -> bool:
    """Ask AWS to stop the job, saying why in the run's log; a refusal (the job ended meanwhile) is logged, not
    raised, so the interrupt or the timeout stays what the run reports."""
    log(f"{why}: stopping {what}")
    try:
        stop()
    except ClientError as refused:
        log(f"could not stop {what}: {refused}")
        return False
    log(f"asked AWS to stop {what}")
    return True


def missing_object(error: ClientError) -> bool:
    """Whether an S3 ClientError means 'no such object'."""
    return error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound")


class FavoritaAws(S3Resource):
    """Connection settings shared by every AWS client of the pipeline."""

    max_attempts: int = Field(
        default=8,
        ge=1,
        description="Attempts per call, the first included (botocore 'standard' retry mode: "
        "throttling, 5xx and connection errors are retried with exponential backoff and jitter).",
    )
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(default=120.0, gt=0, description="Seconds to wait for a response.")
    _clients: dict[str, Any] = PrivateAttr(default_factory=dict)

    def botocore_config(self) -> Config:
        return Config(
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            user_agent_extra="favorita-forecast",
        )

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` with this resource's retries, timeouts, region and endpoint (cached)."""
        if service not in self._clients:
            session = boto3.session.Session(profile_name=self.profile_name)
            self._clients[service] = session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region_name,
                endpoint_url=self.endpoint_url,
                use_ssl=self.use_ssl,
                verify=self.verify,
                aws_access_key_id=self.aws_access_key_id,
                aws_secret_access_key=self.aws_secret_access_key,
                aws_session_token=self.aws_session_token,
                config=self.botocore_config(),
            )
        return self._clients[service]

    def get_client(self) -> Any:
        """The S3 client (what dagster-aws's ``S3Resource`` returns), with timeouts as well as retries."""
        return self.client("s3")
