"""moto's server on 127.0.0.1 behind a fault-injecting proxy, and the stack Terraform would create, per test."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from aws_mode.emulator import FAKE_CREDENTIALS, EmulatedGlueClient, FaultProxy
from favorita_assets.aws.glue import GlueChallengers, GlueChannels, GlueCleaning, GlueJob
from favorita_assets.aws.glue_package import build_glue_package
from favorita_assets.settings import Settings, build_resources
from favorita_assets.topology import free_port

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto server request lines

REGION = FAKE_CREDENTIALS["AWS_DEFAULT_REGION"]
BUCKETS = {"raw": "favorita-dev-raw", "processed": "favorita-dev-processed", "artifacts": "favorita-dev-artifacts"}
GLUE_JOB = "favorita-dev-clean-series"
ROLE_NAME = "favorita-dev-sagemaker-execution"


@pytest.fixture(scope="session")
def moto_url():
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def proxy(moto_url):
    proxy = FaultProxy(moto_url)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def glue_package(tmp_path_factory) -> dict[str, Path]:
    return build_glue_package(tmp_path_factory.mktemp("glue_package"))


def direct_client(moto_url: str, service: str):
    """A client straight to moto (for the test's own setup and inspection, bypassing the proxy)."""
    return boto3.client(service, endpoint_url=moto_url, region_name=REGION, config=Config(retries={"max_attempts": 2}))


@pytest.fixture
def aws_stack(moto_url, proxy, glue_package):
    """A clean emulator holding what infra/terraform creates: three buckets, the SageMaker role, the Glue job with
    its script and cleaning package uploaded. Returns the settings environment pointing through the proxy."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    proxy.clear()
    s3 = direct_client(moto_url, "s3")
    for bucket in BUCKETS.values():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    iam = direct_client(moto_url, "iam")
    role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    glue_role = iam.create_role(
        RoleName="favorita-dev-glue", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}'
    )
    s3.upload_file(str(glue_package["script"]), BUCKETS["artifacts"], "glue/clean_series_job.py")
    s3.upload_file(str(glue_package["package"]), BUCKETS["artifacts"], "glue/favorita_core.zip")
    direct_client(moto_url, "glue").create_job(
        Name=GLUE_JOB,
        Role=glue_role["Role"]["Arn"],
        GlueVersion="5.0",
        Command={
            "Name": "glueetl",
            "ScriptLocation": f"s3://{BUCKETS['artifacts']}/glue/clean_series_job.py",
            "PythonVersion": "3",
        },
        DefaultArguments={
            "--extra-py-files": f"s3://{BUCKETS['artifacts']}/glue/favorita_core.zip",
            "--additional-python-modules": (
                "dagster-pipes==1.13.*,orjson==3.*,statsforecast==2.1.1,mlforecast==1.1.0,lightgbm==4.7.0"
            ),
        },
    )
    return {
        "FAVORITA_DEPLOYMENT": "aws",
        "FAVORITA_AWS_REGION": REGION,
        "FAVORITA_RAW_BUCKET": BUCKETS["raw"],
        "FAVORITA_PROCESSED_BUCKET": BUCKETS["processed"],
        "FAVORITA_ARTIFACTS_BUCKET": BUCKETS["artifacts"],
        "FAVORITA_GLUE_JOB_NAME": GLUE_JOB,
        "FAVORITA_GLUE_ENGINE": "pandas",  # Spark cannot read s3:// here; the Spark engine is tested on local files
        "FAVORITA_SAGEMAKER_ROLE_ARN": role["Role"]["Arn"],
        "FAVORITA_POLL_SECONDS": "0.2",
        "FAVORITA_AWS_MAX_ATTEMPTS": "4",
        "AWS_ENDPOINT_URL": proxy.url,
    }


class EmulatedGlueJob:
    """A Glue resource whose Glue client also plays Glue's job runner (see emulator.py); the job's script runs with
    ``job_env`` on top of this process's environment (the Glue role's access key, in the least-privilege test)."""

    def glue_client(self):
        env = {"AWS_ENDPOINT_URL": self.aws.endpoint_url or "", **self.job_env}
        client = EmulatedGlueClient(super().glue_client(), self.aws.client("s3"), env)
        type(self).last_client = client
        return client


class EmulatedGlueCleaning(EmulatedGlueJob, GlueCleaning):
    job_env: dict[str, str] = {}


class EmulatedGlueChallengers(EmulatedGlueJob, GlueChallengers):
    job_env: dict[str, str] = {}


class EmulatedGlueChannels(EmulatedGlueJob, GlueChannels):
    job_env: dict[str, str] = {}


def aws_resources(
    env: dict[str, str], data_dir: Path, glue_job_env: dict[str, str] | None = None, **trainer_overrides
) -> tuple[Settings, dict]:
    """The aws deployment's resources for ``env``, with Glue's runner emulated (its script run with
    ``glue_job_env``) and trainer fields overridden."""
    settings = Settings.from_env({**env, "FAVORITA_DATA_DIR": str(data_dir)})
    resources = build_resources(settings)
    glue_jobs = (
        ("cleaning", EmulatedGlueCleaning),
        ("channels", EmulatedGlueChannels),
        ("challengers", EmulatedGlueChallengers),
    )
    for name, emulated in glue_jobs:
        glue = resources[name]
        if not isinstance(glue, GlueJob):  # FAVORITA_CHALLENGERS_ON=in-process
            continue
        extra = {"forecast_datasets": glue.forecast_datasets} if name == "channels" else {}
        resources[name] = emulated(
            job_name=glue.job_name,
            engine=glue.engine,
            pipes_poll_seconds=0.2,
            aws=glue.aws,
            job_env=glue_job_env or {},
            **extra,
        )
    if trainer_overrides:
        trainer = resources["trainer"]
        resources["trainer"] = type(trainer)(
            **{**trainer.model_dump(exclude={"aws"}), "aws": trainer.aws, **trainer_overrides}
        )
    return settings, resources
