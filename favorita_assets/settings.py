"""The one place the deployment (local | aws) and its settings are read.

Environment variables of every deployment (all optional on the embedded default):

- ``FAVORITA_DEPLOYMENT``: ``local`` (default) or ``aws``;
- ``FAVORITA_DATA_DIR``: the folder holding the Kaggle files (train.csv, stores.csv, ...); default ``./data/favorita``;
- ``FAVORITA_STORAGE_DIR``: the local storage root; default ``./var/storage`` (local deployment only);
- ``FAVORITA_RAW_SOURCE``: ``folder`` (default: read the Kaggle files from FAVORITA_DATA_DIR) or ``landing`` (read
  them from ``landing/`` in storage, where the ``upload_raw_data`` ops job puts them; in aws mode the raw bucket);
- ``FAVORITA_THREADS``: the cores the models may use (default: the CPUs this process may run on, capped by the
  container's CPU quota);
- ``FAVORITA_DAGSTER_URL``: the Dagster UI's address, for links in alerts; default ``http://127.0.0.1:3000``;
- ``FAVORITA_AUTOMATION``: ``running`` or ``stopped``, how the schedule and the new-data sensor start on an instance
  that has not switched them yet; default ``running`` in aws mode and under ``favorita prod-local``, ``stopped`` on
  the embedded default (``favorita ui`` and ``dagster dev`` start no run unasked).

The aws deployment reads ``AWS_SETTINGS`` below; ``favorita aws-settings`` writes them from ``terraform output -json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from favorita_assets.core.cores import ThreadsSettingError, threads_setting

DEPLOYMENTS = ("local", "aws")
MODEL_BACKENDS = ("sagemaker-deepar", "amazon-forecast")  # aws mode; the embedded default trains GluonTS DeepAR
AUTOMATION_STATES = ("running", "stopped")  # FAVORITA_AUTOMATION: the schedule's and new-data sensor's default
RAW_SOURCES = ("folder", "landing")  # the Kaggle files: FAVORITA_DATA_DIR, or landing/ in storage (ops upload job)


class SettingsError(ValueError):
    """A deployment setting that is missing or wrong."""


@dataclass(frozen=True)
class AwsSetting:
    env: str
    description: str
    terraform_output: str | None = None  # the Terraform output that provides it
    default: str | None = None  # None: required


AWS_SETTINGS = (
    AwsSetting("FAVORITA_AWS_REGION", "AWS region of the stack", "region"),
    AwsSetting("FAVORITA_RAW_BUCKET", "bucket for raw/ (landed Kaggle files)", "raw_bucket"),
    AwsSetting("FAVORITA_PROCESSED_BUCKET", "bucket for processed/ (cleaned series)", "processed_bucket"),
    AwsSetting(
        "FAVORITA_ARTIFACTS_BUCKET",
        "bucket for training/, models/, forecasts/, plots/ and Pipes messages",
        "artifacts_bucket",
    ),
    AwsSetting(
        "FAVORITA_KMS_KEY_ARN", "KMS key for server-side encryption of writes ('' = bucket default)", "kms_key_arn", ""
    ),
    AwsSetting(
        "FAVORITA_GLUE_JOB_NAME", "Glue job that cleans the series and builds the DeepAR channels", "glue_job_name"
    ),
    AwsSetting("FAVORITA_GLUE_ENGINE", "Glue script engine: spark or pandas", None, "spark"),
    AwsSetting(
        "FAVORITA_CHALLENGERS_ON",
        "where the backtest's challengers run: glue (the Glue job, one Spark task per group of series) or in-process "
        "(the Dagster run: no Glue job to start, enough for a chain of Kaggle's size)",
        None,
        "glue",
    ),
    AwsSetting("FAVORITA_SAGEMAKER_ROLE_ARN", "SageMaker execution role", "sagemaker_execution_role_arn"),
    AwsSetting(
        "FAVORITA_SAGEMAKER_NAME_PREFIX",
        "start of SageMaker job, model and endpoint names (IAM allows only these)",
        "sagemaker_name_prefix",
        "favorita",
    ),
    AwsSetting(
        "FAVORITA_MODEL_PACKAGE_GROUP",
        "SageMaker model registry group each trained model is registered in ('' = none)",
        "model_package_group_name",
        "",
    ),
    AwsSetting(
        "FAVORITA_EVENT_QUEUE_URL",
        "SQS queue EventBridge feeds; set, the event sensor replaces the Dagster schedule",
        "event_queue_url",
        "",
    ),
    AwsSetting(
        "FAVORITA_ALERTS_TOPIC_ARN",
        "SNS topic for run-failure, quality-gate and low-stock alerts ('' = log only)",
        "alerts_topic_arn",
        "",
    ),
    AwsSetting("FAVORITA_SAGEMAKER_TRAINING_INSTANCE", "training instance type", None, "ml.c5.2xlarge"),
    AwsSetting(
        "FAVORITA_SAGEMAKER_TRAINING_INSTANCE_COUNT",
        "training instances (DeepAR trains on several machines at once: for data that outgrows one instance)",
        None,
        "1",
    ),
    AwsSetting(
        "FAVORITA_SAGEMAKER_INFERENCE_INSTANCE", "batch transform / endpoint instance type", None, "ml.c5.xlarge"
    ),
    AwsSetting("FAVORITA_SAGEMAKER_INFERENCE", "batch (transform job) or endpoint (real-time)", None, "batch"),
    AwsSetting(
        "FAVORITA_MODEL_BACKEND",
        "who trains and forecasts: sagemaker-deepar, or amazon-forecast (for accounts that still have Amazon Forecast)",
        "model_backend",
        "sagemaker-deepar",
    ),
    AwsSetting(
        "FAVORITA_FORECAST_ROLE_ARN",
        "the role Amazon Forecast assumes to read the datasets and write the "
        "exports (amazon-forecast backend; Terraform makes it with model_backend=amazon-forecast)",
        "forecast_role_arn",
        "",
    ),
    AwsSetting(
        "FAVORITA_FORECAST_ALGORITHM",
        "amazon-forecast backend: auto (AutoPredictor) or a named algorithm "
        "(Deep_AR_Plus, CNN-QR, Prophet, NPTS, ETS, ARIMA)",
        None,
        "auto",
    ),
    AwsSetting("FAVORITA_AWS_MAX_ATTEMPTS", "attempts per AWS call (standard retry mode)", None, "8"),
    AwsSetting("FAVORITA_AWS_CONNECT_TIMEOUT", "seconds to connect", None, "10"),
    AwsSetting("FAVORITA_AWS_READ_TIMEOUT", "seconds to wait for a response", None, "120"),
    AwsSetting("FAVORITA_POLL_SECONDS", "first wait between Glue/SageMaker status polls (backs off to 8x)", None, "15"),
    AwsSetting("AWS_ENDPOINT_URL", "endpoint override for every AWS client (an emulator in tests)", None, ""),
)


MAX_TRAINING_INSTANCES = 20  # SageMaker's default quota of instances per training job is far lower for most types


@dataclass(frozen=True)
class Settings:
    deployment: str
    data_dir: Path
    storage_dir: Path
    aws: Mapping[str, str] = field(default_factory=dict)  # AWS_SETTINGS env name -> value, in aws mode
    dagster_url: str = "http://127.0.0.1:3000"  # FAVORITA_DAGSTER_URL: where alerts link runs to
    raw_source: str = "folder"  # FAVORITA_RAW_SOURCE: read the Kaggle files from data_dir, or from storage landing/
    retrain_cron: str = "0 3 1 * *"  # FAVORITA_RETRAIN_CRON: when the monthly schedule refreshes the data (UTC)
    automation: str = "stopped"  # FAVORITA_AUTOMATION: the schedule and the new-data sensor start running or stopped

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        deployment = env.get("FAVORITA_DEPLOYMENT", "local").strip().lower()
        if deployment not in DEPLOYMENTS:
            raise SettingsError(
                f"FAVORITA_DEPLOYMENT={deployment!r} is not a deployment; use one of {', '.join(DEPLOYMENTS)}"
            )
        aws: dict[str, str] = {}
        if deployment == "aws":
            aws = {s.env: env.get(s.env, s.default or "").strip() for s in AWS_SETTINGS}
            if not aws["FAVORITA_AWS_REGION"]:
                aws["FAVORITA_AWS_REGION"] = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
            missing = [s.env for s in AWS_SETTINGS if s.default is None and not aws[s.env]]
            if missing:
                raise SettingsError(
                    f"FAVORITA_DEPLOYMENT=aws needs {', '.join(missing)}; after `terraform apply` run "
                    "`terraform -chdir=infra/terraform/envs/dev output -json | favorita aws-settings > .env` "
                    "(dagster dev reads .env), or set them yourself"
                )
            choices = {
                "FAVORITA_GLUE_ENGINE": ("spark", "pandas"),
                "FAVORITA_CHALLENGERS_ON": ("glue", "in-process"),
                "FAVORITA_SAGEMAKER_INFERENCE": ("batch", "endpoint"),
                "FAVORITA_MODEL_BACKEND": MODEL_BACKENDS,
            }
            for name, allowed in choices.items():
                if aws[name] not in allowed:
                    raise SettingsError(f"{name}={aws[name]!r}: use one of {', '.join(allowed)}")
            if aws["FAVORITA_MODEL_BACKEND"] == "amazon-forecast":
                from favorita_assets.aws.amazon_forecast import ALGORITHMS

                if not aws["FAVORITA_FORECAST_ROLE_ARN"]:
                    raise SettingsError(
                        "FAVORITA_MODEL_BACKEND=amazon-forecast needs FAVORITA_FORECAST_ROLE_ARN: a role "
                        "that forecast.amazonaws.com may assume, allowed to read and write the artifacts "
                        "bucket and use the KMS key; `terraform apply -var model_backend=amazon-forecast` "
                        "makes it (output forecast_role_arn)"
                    )
                if aws["FAVORITA_FORECAST_ALGORITHM"] not in ALGORITHMS:
                    raise SettingsError(
                        f"FAVORITA_FORECAST_ALGORITHM={aws['FAVORITA_FORECAST_ALGORITHM']!r}: use one "
                        f"of {', '.join(ALGORITHMS)}"
                    )
            count = aws["FAVORITA_SAGEMAKER_TRAINING_INSTANCE_COUNT"]
            if not count.isdigit() or not 1 <= int(count) <= MAX_TRAINING_INSTANCES:
                raise SettingsError(
                    f"FAVORITA_SAGEMAKER_TRAINING_INSTANCE_COUNT={count!r}: use a whole number from 1 "
                    f"to {MAX_TRAINING_INSTANCES}"
                )
        else:
            backend = env.get("FAVORITA_MODEL_BACKEND", "").strip().lower()
            if backend:
                raise SettingsError(
                    f"FAVORITA_MODEL_BACKEND={backend!r} is an aws-mode setting: the embedded default trains GluonTS "
                    "DeepAR in this process. "
                    + (
                        "Amazon Forecast is an AWS service with no local equivalent: "
                        if backend == "amazon-forecast"
                        else ""
                    )
                    + "Set FAVORITA_DEPLOYMENT=aws to use "
                    f"{', '.join(MODEL_BACKENDS)}, or unset FAVORITA_MODEL_BACKEND"
                )
        raw_source = env.get("FAVORITA_RAW_SOURCE", "folder").strip().lower()
        if raw_source not in RAW_SOURCES:
            raise SettingsError(f"FAVORITA_RAW_SOURCE={raw_source!r}: use one of {', '.join(RAW_SOURCES)}")
        try:
            threads_setting(env)  # read where the models run; refused here, before any work, when it is not a count
        except ThreadsSettingError as exc:
            raise SettingsError(str(exc)) from None
        automation = env.get("FAVORITA_AUTOMATION", "running" if deployment == "aws" else "stopped").strip().lower()
        if automation not in AUTOMATION_STATES:
            raise SettingsError(f"FAVORITA_AUTOMATION={automation!r}: use one of {', '.join(AUTOMATION_STATES)}")
        return cls(
            deployment=deployment,
            data_dir=Path(env.get("FAVORITA_DATA_DIR", "data/favorita")).expanduser(),
            storage_dir=Path(env.get("FAVORITA_STORAGE_DIR", "var/storage")).expanduser(),
            aws=aws,
            dagster_url=env.get("FAVORITA_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/"),
            raw_source=raw_source,
            retrain_cron=_cron(env.get("FAVORITA_RETRAIN_CRON", "0 3 1 * *")),
            automation=automation,
        )


def _cron(value: str) -> str:
    from dagster._utils.schedules import is_valid_cron_string

    value = value.strip()
    if not is_valid_cron_string(value):
        raise SettingsError(
            f"FAVORITA_RETRAIN_CRON={value!r} is not a cron expression; e.g. '0 3 1 * *' (03:00 UTC on the 1st)"
        )
    return value


def settings_from_terraform(outputs: Mapping[str, object]) -> dict[str, str]:
    """``terraform output -json`` (name -> {"value": ...}) as the environment variables the aws deployment reads."""
    values = {name: (out.get("value") if isinstance(out, Mapping) else out) for name, out in outputs.items()}
    env = {"FAVORITA_DEPLOYMENT": "aws"}
    missing = []
    for setting in AWS_SETTINGS:
        if setting.terraform_output is None:
            continue
        value = values.get(setting.terraform_output)
        if value is None:
            if setting.default is None:
                missing.append(setting.terraform_output)
            continue
        env[setting.env] = value if isinstance(value, str) else json.dumps(value)
    if missing:
        raise SettingsError(f"terraform output lacks {', '.join(missing)}: apply infra/terraform/envs/<env> first")
    return env


def build_resources(settings: Settings) -> dict[str, object]:
    """The resources of the chosen deployment, keyed as the assets expect them."""
    from favorita_assets.ingest.resources import RawDataSource

    raw_source = RawDataSource(data_dir=str(settings.data_dir.resolve()), from_landing=settings.raw_source == "landing")
    if settings.deployment == "aws":
        return {"raw_source": raw_source, **_aws_resources(settings.aws, settings.dagster_url)}

    from favorita_assets.resources.alerts import LoggedAlerts
    from favorita_assets.resources.challengers import InProcessChallengers
    from favorita_assets.resources.channels import InProcessChannels
    from favorita_assets.resources.etl import InProcessCleaning
    from favorita_assets.resources.storage import LocalStorage
    from favorita_assets.resources.training import LocalDeepAR

    return {
        "storage": LocalStorage(root=str(settings.storage_dir.resolve())),
        "raw_source": raw_source,
        "cleaning": InProcessCleaning(),
        "channels": InProcessChannels(),
        "challengers": InProcessChallengers(),
        "trainer": LocalDeepAR(),
        "alerts": LoggedAlerts(dagster_url=settings.dagster_url),
    }


def _aws_resources(aws: Mapping[str, str], dagster_url: str) -> dict[str, object]:
    from favorita_assets.aws.amazon_forecast import AmazonForecast
    from favorita_assets.aws.clients import FavoritaAws
    from favorita_assets.aws.glue import GlueChallengers, GlueChannels, GlueCleaning
    from favorita_assets.aws.s3_storage import S3Storage
    from favorita_assets.aws.sagemaker import SageMakerDeepAR
    from favorita_assets.aws.sns import SnsAlerts
    from favorita_assets.resources.alerts import LoggedAlerts
    from favorita_assets.resources.challengers import InProcessChallengers

    connection = FavoritaAws(
        region_name=aws["FAVORITA_AWS_REGION"],
        endpoint_url=aws["AWS_ENDPOINT_URL"] or None,
        max_attempts=int(aws["FAVORITA_AWS_MAX_ATTEMPTS"]),
        connect_timeout=float(aws["FAVORITA_AWS_CONNECT_TIMEOUT"]),
        read_timeout=float(aws["FAVORITA_AWS_READ_TIMEOUT"]),
    )
    kms = aws["FAVORITA_KMS_KEY_ARN"] or None
    poll = float(aws["FAVORITA_POLL_SECONDS"])
    topic = aws["FAVORITA_ALERTS_TOPIC_ARN"]
    forecast = aws["FAVORITA_MODEL_BACKEND"] == "amazon-forecast"
    return {
        "aws": connection,
        "alerts": SnsAlerts(topic_arn=topic, aws=connection, dagster_url=dagster_url)
        if topic
        else LoggedAlerts(dagster_url=dagster_url),
        "storage": S3Storage(
            raw_bucket=aws["FAVORITA_RAW_BUCKET"],
            processed_bucket=aws["FAVORITA_PROCESSED_BUCKET"],
            artifacts_bucket=aws["FAVORITA_ARTIFACTS_BUCKET"],
            kms_key_id=kms,
            aws=connection,
        ),
        "cleaning": GlueCleaning(
            job_name=aws["FAVORITA_GLUE_JOB_NAME"],
            engine=aws["FAVORITA_GLUE_ENGINE"],
            pipes_poll_seconds=poll,
            aws=connection,
        ),
        "channels": GlueChannels(
            job_name=aws["FAVORITA_GLUE_JOB_NAME"],
            engine=aws["FAVORITA_GLUE_ENGINE"],
            pipes_poll_seconds=poll,
            forecast_datasets=forecast,
            aws=connection,
        ),  # the same job, --task channels (and Amazon Forecast's CSVs for that backend)
        "challengers": GlueChallengers(
            job_name=aws["FAVORITA_GLUE_JOB_NAME"],
            engine=aws["FAVORITA_GLUE_ENGINE"],
            pipes_poll_seconds=poll,
            aws=connection,
        )
        if aws["FAVORITA_CHALLENGERS_ON"] == "glue"
        else InProcessChallengers(),  # the same job, --task challengers
        "trainer": AmazonForecast(
            role_arn=aws["FAVORITA_FORECAST_ROLE_ARN"],
            name_prefix=aws["FAVORITA_SAGEMAKER_NAME_PREFIX"],
            algorithm=aws["FAVORITA_FORECAST_ALGORITHM"],
            kms_key_arn=kms,
            poll_min_seconds=poll * 4,
            poll_max_seconds=poll * 40,
            aws=connection,
        )
        if forecast
        else SageMakerDeepAR(
            role_arn=aws["FAVORITA_SAGEMAKER_ROLE_ARN"],
            name_prefix=aws["FAVORITA_SAGEMAKER_NAME_PREFIX"],
            model_package_group=aws["FAVORITA_MODEL_PACKAGE_GROUP"] or None,
            training_instance_type=aws["FAVORITA_SAGEMAKER_TRAINING_INSTANCE"],
            training_instance_count=int(aws["FAVORITA_SAGEMAKER_TRAINING_INSTANCE_COUNT"]),
            inference_instance_type=aws["FAVORITA_SAGEMAKER_INFERENCE_INSTANCE"],
            inference_mode=aws["FAVORITA_SAGEMAKER_INFERENCE"],
            kms_key_id=kms,
            poll_min_seconds=poll,
            poll_max_seconds=poll * 8,
            aws=connection,
        ),
    }
