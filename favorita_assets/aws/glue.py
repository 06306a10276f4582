"""Cleaning in AWS Glue, launched and followed through Dagster Pipes (dagster-aws ``PipesGlueClient``).

The Glue job (created by Terraform, script ``aws/glue_script.py``, cleaning code ``favorita_core.zip``) gets the
landed raw keys and the output version prefix as arguments; the Dagster context goes to it through S3 and its
materialization metadata and the ``sales_reconcile`` check come back through S3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from dagster import ConfigurableResource
from dagster_aws.pipes import PipesGlueClient, PipesS3ContextInjector, PipesS3MessageReader
from pydantic import Field

from favorita_assets import storage_keys as keys
from favorita_assets.aws.clients import AwsJobFailed, FavoritaAws
from favorita_assets.aws.glue_script import CHALLENGERS_SUMMARY, CHANNELS_SUMMARY, CHECK_NAME, ENGINES, ERROR_FILE
from favorita_assets.aws.s3_storage import S3Storage
from favorita_assets.core.challengers import ChallengerRuns, read_rows, runs_from_rows
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.resources.challengers import ChallengerRunner
from favorita_assets.resources.channels import ChannelBuilder
from favorita_assets.resources.etl import CleaningOutcome, CleaningRunner

PIPES_PREFIX = "pipes/"  # the only artifacts prefix besides glue-temp/ the Glue role may write (infra/terraform iam)
STAT_KEYS = (
    "rows",
    "series",
    "stores",
    "families",
    "first_date",
    "last_date",
    "missing_rows_filled",
    "store_closed_rows",
    "total_sales",
)


# Glue uses these internally; a job must never be passed them (AWS Glue's job parameters reference).
GLUE_RESERVED_ARGUMENTS = ("--conf", "--debug", "--mode", "--JOB_NAME")
ARGUMENT_NAME = re.compile(r"^--[a-z][a-z0-9_]*$")  # the script's own arguments: --snake_case, as argparse reads them


def check_job_arguments(arguments: Mapping[str, str]) -> None:
    """Refuse (ValueError) arguments Glue 5 would reject or misread: a name Glue reserves, a name that is not
    ``--snake_case``, a value that is not a string."""
    for name, value in arguments.items():
        if name in GLUE_RESERVED_ARGUMENTS:
            raise ValueError(f"Glue job argument {name} is reserved by Glue: rename it")
        if not ARGUMENT_NAME.match(name):
            raise ValueError(f"Glue job argument {name!r} must be --snake_case (lower-case letters, digits, _)")
        if not isinstance(value, str):
            raise ValueError(f"Glue job argument {name}={value!r} must be a string")


class PipesPrefixedS3MessageReader(PipesS3MessageReader):
    """dagster-aws's S3 message reader, with the job's messages under ``prefix`` instead of a random prefix at the
    top of the bucket (where the Glue role may not write, so a real job could never report back)."""

    def __init__(self, *, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prefix = prefix.rstrip("/") + "/"

    @contextmanager
    def get_params(self) -> Iterator[Mapping[str, Any]]:
        with super().get_params() as params:
            yield {**params, "key_prefix": f"{self.prefix}{params['key_prefix']}"}


class GlueJobFailed(AwsJobFailed):
    """The Glue job run ended in a state other than SUCCEEDED."""


class GlueJob(ConfigurableResource):
    """A run of the Glue job ``job_name`` through Dagster Pipes: its context and messages go through S3."""

    job_name: str = Field(description="The Glue job (Terraform output glue_job_name).")
    engine: str = Field(default="spark", description=f"Glue script engine: {' or '.join(ENGINES)}.")
    pipes_poll_seconds: float = Field(default=10.0, gt=0, description="How often Pipes reads the job's messages.")
    aws: FavoritaAws = Field(description="Region, endpoint, retries and timeouts of the Glue and S3 clients.")

    def glue_client(self) -> Any:
        """The Glue client PipesGlueClient drives (tests wrap it to play Glue's job runner)."""
        return self.aws.client("glue")

    def run_job(self, context, storage, arguments: dict[str, str], output_prefix: str):
        """Run the job with ``arguments`` (plus ``--output_uri`` and ``--engine``); returns the Pipes invocation.
        A refusal of the input the job left in ``output_prefix/_ERROR.json`` is raised as that FavoritaDataError."""
        if not isinstance(storage, S3Storage):
            raise TypeError(f"{type(self).__name__} reads and writes S3: configure S3Storage (FAVORITA_DEPLOYMENT=aws)")
        if self.engine not in ENGINES:
            raise ValueError(f"engine={self.engine!r}: use one of {', '.join(ENGINES)}")
        s3 = self.aws.client("s3")
        client = PipesGlueClient(
            client=self.glue_client(),
            context_injector=PipesS3ContextInjector(
                bucket=storage.artifacts_bucket, client=s3, key_prefix=PIPES_PREFIX
            ),
            message_reader=PipesPrefixedS3MessageReader(
                prefix=f"{PIPES_PREFIX}messages",
                bucket=storage.artifacts_bucket,
                client=s3,
                interval=self.pipes_poll_seconds,
            ),
            forward_termination=True,
        )
        arguments = {**arguments, "--output_uri": storage.uri(output_prefix), "--engine": self.engine}
        check_job_arguments(arguments)
        if storage.exists(f"{output_prefix}/{ERROR_FILE}"):  # an earlier refusal of other input: not this run's
            storage.delete(f"{output_prefix}/{ERROR_FILE}")
        context.log.info(f"starting Glue job {self.job_name}: {json.dumps(arguments)}")
        try:
            return client.run(context=context, start_job_run_params={"JobName": self.job_name, "Arguments": arguments})
        except RuntimeError as error:
            refusal = self._refusal(storage, output_prefix)
            if refusal is not None:
                raise refusal from None
            raise GlueJobFailed(f"Glue job {self.job_name} failed: {error}") from None

    @staticmethod
    def _refusal(storage: S3Storage, output_prefix: str) -> FavoritaDataError | None:
        """The job's plain-language refusal of its input, when that is why it failed."""
        try:
            record = storage.read_json(f"{output_prefix}/{ERROR_FILE}")
        except FileNotFoundError:
            return None
        if record.get("data_error"):
            return FavoritaDataError.from_metadata(record["data_error"])
        return None


class GlueCleaning(GlueJob, CleaningRunner):
    """Runs ``cleaned_series``' cleaning as a run of the Glue job ``job_name`` (``--task clean``)."""

    def run(self, context, storage, inputs, output_prefix):
        arguments = {"--task": "clean", **{f"--{table}_uri": storage.uri(key) for table, key in inputs.items()}}
        invocation = self.run_job(context, storage, arguments, output_prefix)
        reported = {}
        checks = {}
        for result in invocation.get_results():
            if getattr(result, "check_name", None):
                checks[result.check_name] = result
            else:
                reported.update({k: v.value for k, v in (result.metadata or {}).items()})
        missing = [k for k in STAT_KEYS if k not in reported]
        if missing or CHECK_NAME not in checks:
            raise GlueJobFailed(
                f"Glue job {self.job_name} succeeded but reported no {', '.join(missing) or CHECK_NAME} through "
                "Dagster Pipes: is the job's script favorita_assets/aws/glue_script.py, with dagster-pipes installed?"
            )
        check = checks[CHECK_NAME]
        reconciliation = {"passed": bool(check.passed), **{k: v.value for k, v in (check.metadata or {}).items()}}
        parts = [k for k in storage.list_keys(output_prefix) if k.endswith(".parquet")]
        return CleaningOutcome(
            parts=parts,
            stats={k: reported[k] for k in STAT_KEYS},
            reconciliation=reconciliation,
            engine=str(reported.get("engine", self.engine)),
            metadata=dict(invocation.metadata),
        )


class GlueChannels(GlueJob, ChannelBuilder):
    """Builds a cut-off's DeepAR channels as a run of the Glue job (``--task channels``): the Dagster run passes
    S3 locations and reads back the summary; it never loads the series."""

    def build(self, context, storage, request):
        versions = {key.rsplit("/", 1)[0] for key in request.cleaned_parts}
        if len(versions) != 1:
            raise ValueError(f"the cleaned series' parts are not under one version prefix: {sorted(versions)}")
        arguments = {
            "--task": "channels",
            "--cleaned_uri": storage.uri(versions.pop()),
            "--cleaned_engine": request.cleaned_engine,
            "--cutoff": f"{request.cutoff:%Y-%m-%d}",
            "--prediction_length": str(request.prediction_length),
            "--backtest_windows": str(request.backtest_windows),
            "--forecast_datasets": "true" if self.forecast_datasets else "false",
            **{f"--{table}_uri": storage.uri(key) for table, key in request.tables.items() if key is not None},
        }
        summary_key = f"{request.prefix}/{CHANNELS_SUMMARY}"
        if storage.exists(summary_key):  # an earlier build's: only this run's may be read below
            storage.delete(summary_key)
        invocation = self.run_job(context, storage, arguments, request.prefix)
        if not storage.exists(summary_key):
            raise GlueJobFailed(
                f"Glue job {self.job_name} succeeded but wrote no {storage.uri(summary_key)}: is the "
                "job's script favorita_assets/aws/glue_script.py?"
            )
        summary = storage.read_json(summary_key)
        summary["files"] = _keys(summary["files"])
        if "forecast_datasets" in summary:
            summary["forecast_datasets"]["files"] = _keys(summary["forecast_datasets"]["files"])
        summary["metadata"] = {
            "channels_built_by": f"Glue job {self.job_name} ({self.engine})",
            **dict(invocation.metadata),
        }
        return summary


class GlueChallengers(GlueJob, ChallengerRunner):
    """Runs the challengers' backtest and horizon forecasts as a run of the Glue job (``--task challengers``): one
    Spark task per partition of the series, each running the same code as the local backend; the per-series
    forecasts come back as Parquet under ``evaluation/cutoff_month=YYYY-MM/challengers/``."""

    series_per_task: int = Field(
        default=500,
        ge=1,
        description="Series per Spark task for the per-series challengers (the baselines and statsforecast models).",
    )

    def run(self, context, storage, job, problems) -> ChallengerRuns:
        prefix = keys.evaluation_challengers(job.partition)
        arguments = {
            "--task": "challengers",
            "--channels_uri": storage.uri(keys.training_prefix(job.partition)),
            "--candidates": ",".join(job.candidates),
            "--seed": str(job.seed),
            "--global_models_by": job.global_models_by,
            "--series_per_task": str(self.series_per_task),
        }
        summary_key = f"{prefix}/{CHALLENGERS_SUMMARY}"
        if storage.exists(summary_key):  # an earlier run's: only this run's may be read below
            storage.delete(summary_key)
        self.run_job(context, storage, arguments, prefix)
        if not storage.exists(summary_key):
            raise GlueJobFailed(
                f"Glue job {self.job_name} succeeded but wrote no {storage.uri(summary_key)}: is the job's script "
                "favorita_assets/aws/glue_script.py?"
            )
        summary = storage.read_json(summary_key)
        paths = []
        with ExitStack() as stack:
            for key in _keys({"parts": summary["parts"]})["parts"]:
                paths.append(stack.enter_context(storage.local_path(key)))
            frame, values = read_rows(paths)
        return runs_from_rows(frame, values, int(summary["series"]), summary["failed"], summary["seconds"])


def _keys(files: dict[str, list[str]]) -> dict[str, list[str]]:
    """The job's s3:// URIs of each channel (or dataset) as storage keys."""
    return {name: [uri[len("s3://") :].split("/", 1)[1] for uri in uris] for name, uris in files.items()}
