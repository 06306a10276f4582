"""SageMaker batch transform and its parsing; the aws settings, from the environment and from Terraform's outputs;
retries, timeouts and the endpoint override on every client; the same asset graph in both deployments."""

from __future__ import annotations

import json
import logging
import re
from types import SimpleNamespace

import numpy as np
import pytest

from aws_mode.conftest import BUCKETS
from aws_mode.emulator import EmulatedSageMakerClient, MotoSageMaker
from favorita_assets.aws.sagemaker import SageMakerDeepAR
from favorita_assets.cli import main
from favorita_assets.core.deepar_format import parse_predictions
from favorita_assets.definitions import build_definitions
from favorita_assets.settings import AWS_SETTINGS, Settings, SettingsError, build_resources, settings_from_terraform

CONTEXT = SimpleNamespace(log=logging.getLogger("test"))


def records(n: int, length: int, h: int) -> list[dict]:
    return [
        {
            "start": "2017-01-01 00:00:00",
            "target": [float(i)] * length,
            "cat": [i, 0],
            "dynamic_feat": [[0.0] * (length + h)],
        }
        for i in range(n)
    ]


def test_batch_transform_request_and_parsed_output(aws_stack):
    resources = build_resources(Settings.from_env(aws_stack))
    storage, trainer = resources["storage"], resources["trainer"]
    seen = []

    def container(instances, config):  # what the DeepAR container would answer: last target value, flat
        seen.append((instances, config))
        return [
            {
                "mean": [inst["target"][-1]] * 7,
                "quantiles": {q: [inst["target"][-1] * float(q) * 2] * 7 for q in config["quantiles"]},
            }
            for inst in instances
        ]

    class Batch(SageMakerDeepAR):
        @property
        def sm(self):
            if not hasattr(Batch, "client"):
                Batch.client = EmulatedSageMakerClient(self.aws.client("sagemaker"), self.aws.client("s3"), container)
            return Batch.client

    batch = Batch(**{**trainer.model_dump(exclude={"aws"}), "aws": trainer.aws, "inference_mode": "batch"})
    model = {
        "version": "deepar-2017-08-abc",
        "backend": "sagemaker",
        "model_name": "favorita-deepar-2017-08-abc",
        "hyperparameters": {"prediction_length": 7, "num_eval_samples": 50},
    }
    out = batch.predict(CONTEXT, storage, model, records(5, 30 + 7, 0), (0.1, 0.5, 0.9), cut=7)
    deciles = [q / 10 for q in range(1, 10)]  # the point forecast: the mean of log1p over the deciles, as locally
    assert len(out) == 5 and np.allclose(
        [o["mean"][0] for o in out], [np.expm1(np.mean([np.log1p(v * 2 * q) for q in deciles])) for v in range(5)]
    )
    assert np.allclose(out[3][0.9], 3 * 0.9 * 2)
    ((instances, config),) = seen
    assert len(instances[0]["target"]) == 30 and len(instances[0]["dynamic_feat"][0]) == 37  # the cut applied
    assert config == {
        "num_samples": 50,
        "output_types": ["mean", "quantiles"],
        "quantiles": ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"],
    }
    (request,) = Batch.client.transform_requests
    assert request["ModelName"] == model["model_name"]
    assert (
        request["TransformInput"]["ContentType"] == "application/jsonlines"
        and request["TransformInput"]["SplitType"] == "Line"
    )
    assert request["TransformOutput"]["S3OutputPath"].startswith(
        f"s3://{BUCKETS['artifacts']}/transforms/deepar-2017-08-abc/"
    )
    assert request["TransformOutput"]["AssembleWith"] == "Line"


def test_parse_predictions_refuses_answers_of_the_wrong_shape():
    good = {"mean": [1.0, -2.0], "quantiles": {"0.5": [1.0, 1.0]}}
    (row,) = parse_predictions([good], (0.5,), 2)
    assert list(row["mean"]) == [1.0, 0.0]  # clipped at zero like the local backend
    with pytest.raises(ValueError, match="no quantile '0.9'"):
        parse_predictions([good], (0.9,), 2)
    with pytest.raises(ValueError, match="has 2 values, not 3"):
        parse_predictions([good], (0.5,), 3)


def test_aws_settings_name_what_is_missing():
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"FAVORITA_DEPLOYMENT": "aws", "FAVORITA_AWS_REGION": "eu-west-1"})
    for name in ("FAVORITA_RAW_BUCKET", "FAVORITA_GLUE_JOB_NAME", "FAVORITA_SAGEMAKER_ROLE_ARN"):
        assert name in str(error.value)
    assert "terraform" in str(error.value) and "favorita aws-settings" in str(error.value)
    with pytest.raises(SettingsError, match="FAVORITA_SAGEMAKER_INFERENCE='realtime'"):
        Settings.from_env(
            {
                **{s.env: "x" for s in AWS_SETTINGS if s.default is None},
                "FAVORITA_DEPLOYMENT": "aws",
                "FAVORITA_SAGEMAKER_INFERENCE": "realtime",
            }
        )
    for count in ("0", "two", "21"):
        with pytest.raises(SettingsError, match=f"FAVORITA_SAGEMAKER_TRAINING_INSTANCE_COUNT='{count}'"):
            Settings.from_env(
                {
                    **{s.env: "x" for s in AWS_SETTINGS if s.default is None},
                    "FAVORITA_DEPLOYMENT": "aws",
                    "FAVORITA_SAGEMAKER_TRAINING_INSTANCE_COUNT": count,
                }
            )


def test_deepar_trains_on_several_instances_when_asked(aws_stack):
    from favorita_assets.resources.training import TrainingRequest

    trainer = build_resources(Settings.from_env({**aws_stack, "FAVORITA_SAGEMAKER_TRAINING_INSTANCE_COUNT": "3"}))[
        "trainer"
    ]
    request = TrainingRequest(
        version="deepar-2017-08-abc",
        channels_prefix="training/cutoff_month=2017-08",
        hyperparameters={"prediction_length": 16, "epochs": 1},
        cardinality=[1, 1, 1, 1],
        model_prefix="models/deepar-2017-08-abc",
        seed=0,
    )
    body = trainer.training_job_request(build_resources(Settings.from_env(aws_stack))["storage"], request, "favorita-x")
    assert body["ResourceConfig"]["InstanceCount"] == 3
    # Every instance reads every series (DeepAR samples its training windows from all of them).
    assert {c["DataSource"]["S3DataSource"]["S3DataDistributionType"] for c in body["InputDataConfig"]} == {
        "FullyReplicated"
    }


def test_terraform_outputs_become_the_settings(tmp_path, capsys, aws_stack):
    outputs = {
        "region": {"value": "eu-west-1", "type": "string", "sensitive": False},
        "raw_bucket": {"value": "r"},
        "processed_bucket": {"value": "p"},
        "artifacts_bucket": {"value": "a"},
        "kms_key_arn": {"value": "arn:aws:kms:eu-west-1:123456789012:key/k"},
        "glue_job_name": {"value": "g"},
        "sagemaker_execution_role_arn": {"value": "arn:aws:iam::123456789012:role/s"},
        "unrelated_output": {"value": ["x"]},
    }
    env = settings_from_terraform(outputs)
    settings = Settings.from_env(env)
    assert settings.aws["FAVORITA_RAW_BUCKET"] == "r" and settings.aws["FAVORITA_KMS_KEY_ARN"].endswith("key/k")
    (tmp_path / "out.json").write_text(json.dumps(outputs))
    assert main(["aws-settings", "--terraform-output", str(tmp_path / "out.json")]) == 0
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines == env and lines["FAVORITA_DEPLOYMENT"] == "aws"
    with pytest.raises(SettingsError, match="glue_job_name"):
        settings_from_terraform({k: v for k, v in outputs.items() if k != "glue_job_name"})


def test_every_client_has_retries_timeouts_and_the_endpoint(aws_stack):
    resources = build_resources(Settings.from_env(aws_stack))
    clients = [
        resources["storage"].s3,
        resources["cleaning"].glue_client(),
        resources["trainer"].sm,
        resources["trainer"].runtime,
        resources["storage"].aws.get_client(),
    ]
    for client in clients:
        config = client.meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": 4}
        assert config.connect_timeout == 10 and config.read_timeout == 120
        assert client.meta.endpoint_url == aws_stack["AWS_ENDPOINT_URL"]
        assert client.meta.region_name == "eu-west-1"


def test_both_deployments_have_the_same_asset_graph(aws_stack, small_data_dir, tmp_path):
    local = build_definitions(Settings(deployment="local", data_dir=small_data_dir, storage_dir=tmp_path))
    aws = build_definitions(Settings.from_env({**aws_stack, "FAVORITA_DATA_DIR": str(small_data_dir)}))
    graphs = [d.resolve_asset_graph() for d in (local, aws)]
    assert graphs[0].get_all_asset_keys() == graphs[1].get_all_asset_keys()
    assert graphs[0].asset_check_keys == graphs[1].asset_check_keys
    for key in graphs[0].get_all_asset_keys():
        assert graphs[0].get(key).parent_keys == graphs[1].get(key).parent_keys


def moto_trainer(aws_stack, **fields):
    """The aws deployment's SageMakerDeepAR, on moto plus the calls moto lacks (MotoSageMaker)."""
    trainer = build_resources(Settings.from_env(aws_stack))["trainer"]

    class OnMoto(SageMakerDeepAR):
        @property
        def sm(self):
            if not hasattr(OnMoto, "client"):
                OnMoto.client = MotoSageMaker(self.aws.client("sagemaker"))
            return OnMoto.client

    return OnMoto(**{**trainer.model_dump(exclude={"aws"}), "aws": trainer.aws, **fields})


def training_request(version="deepar-2017-08-abc", retrain=False):
    from favorita_assets.resources.training import TrainingRequest

    hp = {"prediction_length": 16, "context_length": 28, "epochs": 2, "likelihood": "negative-binomial"}
    return TrainingRequest(
        version=version,
        channels_prefix="training/cutoff_month=2017-08",
        hyperparameters=hp,
        cardinality=[3, 4],
        model_prefix=f"models/{version}",
        retrain=retrain,
    )


def test_a_terminated_run_stops_its_training_job(aws_stack, proxy, monkeypatch):
    from dagster import DagsterExecutionInterruptedError

    from aws_mode.emulator import Fault, operation

    storage = build_resources(Settings.from_env(aws_stack))["storage"]
    trainer = moto_trainer(aws_stack)
    proxy.add(
        Fault(
            operation("SageMaker.DescribeTrainingJob"),
            times=1000,
            rewrite=lambda body: {**body, "TrainingJobStatus": "InProgress"},
        )
    )

    def terminated(_seconds):  # Dagster interrupts the step while it waits
        raise DagsterExecutionInterruptedError()

    monkeypatch.setattr("favorita_assets.aws.clients._sleep", terminated)
    with pytest.raises(DagsterExecutionInterruptedError):
        trainer.train(CONTEXT, storage, training_request(), on_epoch=None)
    (job,) = trainer.sm.list_training_jobs()["TrainingJobSummaries"]
    assert trainer.sm.stopped == [job["TrainingJobName"]]
    proxy.clear()
    monkeypatch.setattr("favorita_assets.aws.clients._sleep", lambda _seconds: None)
    again = trainer.train(CONTEXT, storage, training_request(), on_epoch=None)  # the run again: a new job
    assert again["training_job_name"] == job["TrainingJobName"] + "-r2"


class TaskDied(BaseException):
    """The run's task killed outright (out of memory, SIGKILL): nothing in the step runs any more."""


def test_a_rerun_waits_on_the_training_in_flight_and_reuses_a_finished_one(aws_stack, proxy, monkeypatch, caplog):
    """A run whose task died while SageMaker trained (run monitoring or the run retry then runs it again): the next
    run finds the job by its name (the model version's) and waits on it instead of paying for a second training;
    once it is Completed, a run that lost its model.json uses its model. A forced retrain starts a job of its own."""
    storage = build_resources(Settings.from_env(aws_stack))["storage"]
    trainer = moto_trainer(aws_stack, model_package_group="favorita-dev-deepar")
    sm = trainer.sm
    sm.create_model_package_group(ModelPackageGroupName="favorita-dev-deepar")
    name, nothing = trainer.training_job(training_request())
    assert nothing is None and name == "favorita-deepar-2017-08-abc"
    sm.running.add(name)

    def task_dies(_seconds):
        raise TaskDied()

    monkeypatch.setattr("favorita_assets.aws.clients._sleep", task_dies)
    with pytest.raises(TaskDied):
        trainer.train(CONTEXT, storage, training_request(), on_epoch=None)
    monkeypatch.setattr("favorita_assets.aws.clients._sleep", lambda _seconds: sm.running.clear())  # it finishes
    caplog.set_level(logging.INFO)
    rerun = trainer.train(CONTEXT, storage, training_request(), on_epoch=None)
    assert "already InProgress" in caplog.text and "waiting for it instead of starting another" in caplog.text
    reused = trainer.train(CONTEXT, storage, training_request(), on_epoch=None)
    assert rerun["training_job_name"] == reused["training_job_name"] == name and sm.stopped == []
    assert rerun["model_artifact"] == reused["model_artifact"]
    assert rerun["model_package_arn"] == reused["model_package_arn"]  # registered once, found again
    retrained = trainer.train(CONTEXT, storage, training_request(retrain=True), on_epoch=None)
    assert retrained["training_job_name"] == f"{name}-r2"
    assert retrained["model_package_arn"] != rerun["model_package_arn"]
    packages = sm.list_model_packages(ModelPackageGroupName="favorita-dev-deepar")["ModelPackageSummaryList"]
    assert len(packages) == 2
    created = [entry for entry in proxy.log if entry[2] == "SageMaker.CreateTrainingJob"]
    assert len(created) == 2  # the first run's and the retrain's


def test_a_rerun_attaches_to_the_batch_transform_in_flight_and_reuses_its_output(aws_stack, proxy, monkeypatch):
    """The same series, configuration and model name one transform job: a re-run waits on it while it runs and reads
    its output once it is done; with the output gone (the bucket's lifecycle) the next run starts another."""
    resources = build_resources(Settings.from_env(aws_stack))
    storage, trainer = resources["storage"], resources["trainer"]

    def container(instances, config):
        return [{"mean": [1.0] * 7, "quantiles": {q: [1.0] * 7 for q in config["quantiles"]}} for _ in instances]

    class Batch(SageMakerDeepAR):
        @property
        def sm(self):
            if not hasattr(Batch, "client"):
                moto = MotoSageMaker(self.aws.client("sagemaker"))
                Batch.client = EmulatedSageMakerClient(moto, self.aws.client("s3"), container)
            return Batch.client

    batch = Batch(**{**trainer.model_dump(exclude={"aws"}), "aws": trainer.aws, "inference_mode": "batch"})
    model = {
        "version": "deepar-2017-08-abc",
        "backend": "sagemaker",
        "model_name": "favorita-dev-deepar-2017-08-abc",
        "hyperparameters": {"prediction_length": 7, "num_eval_samples": 50},
    }
    sm = batch.sm
    created: list[str] = []
    real_create = sm.create_transform_job

    def create_and_hold(**params):  # the job runs on after the task died
        created.append(params["TransformJobName"])
        sm._client.running.add(params["TransformJobName"])
        return real_create(**params)

    monkeypatch.setattr(sm, "create_transform_job", create_and_hold)

    def task_dies(_seconds):
        raise TaskDied()

    monkeypatch.setattr("favorita_assets.aws.clients._sleep", task_dies)
    with pytest.raises(TaskDied):
        batch.predict(CONTEXT, storage, model, records(4, 37, 0), (0.5,), cut=7)
    monkeypatch.setattr("favorita_assets.aws.clients._sleep", lambda _seconds: sm._client.running.clear())
    first = batch.predict(CONTEXT, storage, model, records(4, 37, 0), (0.5,), cut=7)
    again = batch.predict(CONTEXT, storage, model, records(4, 37, 0), (0.5,), cut=7)
    assert len(first) == len(again) == 4 and len(created) == 1
    other_model = batch.predict(
        CONTEXT, storage, {**model, "model_name": "favorita-dev-x-r2"}, records(4, 37, 0), (0.5,), cut=7
    )
    assert len(other_model) == 4 and len(created) == 2 and created[1] != created[0]  # a retrained model: its own job
    output = f"transforms/{model['version']}/{created[0][-12:]}/output/data.json.out"  # the name ends with the digest
    assert storage.exists(output)
    storage.delete(output)
    batch.predict(CONTEXT, storage, model, records(4, 37, 0), (0.5,), cut=7)
    assert created[2] == f"{created[0]}-r2"


def test_a_retrain_of_the_same_version_gets_a_model_of_its_own_and_the_endpoint_follows(aws_stack, proxy, monkeypatch):
    storage = build_resources(Settings.from_env(aws_stack))["storage"]
    trainer = moto_trainer(aws_stack, inference_mode="endpoint")
    stamps = iter(["20261201000000", "20261202000000"])
    monkeypatch.setattr("favorita_assets.aws.sagemaker.utc_stamp", lambda: next(stamps, "20261203000000"))
    first = trainer.train(CONTEXT, storage, training_request(), on_epoch=None)
    endpoint = trainer.ensure_endpoint(CONTEXT, {"version": "deepar-2017-08-abc", **first})
    second = trainer.train(CONTEXT, storage, training_request(retrain=True), on_epoch=None)  # force_retrain
    assert first["model_name"] != second["model_name"]
    assert second["training_job_name"] == first["training_job_name"] + "-r2"
    sm = trainer.sm
    assert (
        sm.describe_model(ModelName=second["model_name"])["PrimaryContainer"]["ModelDataUrl"]
        == second["model_artifact"]
    )
    assert trainer.ensure_endpoint(CONTEXT, {"version": "deepar-2017-08-abc", **second}) == endpoint
    config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    assert (
        sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["ModelName"]
        == second["model_name"]
    )
    assert [name for name, _ in sm.updates] == [endpoint]


def test_the_emulator_refuses_a_second_model_of_a_name_as_aws_does(aws_stack):
    from botocore.exceptions import ClientError

    trainer = moto_trainer(aws_stack)
    trainer._create_model("favorita-m", "s3://favorita-dev-artifacts/models/a/model.tar.gz")
    trainer._create_model("favorita-m", "s3://favorita-dev-artifacts/models/a/model.tar.gz")  # a retried call: fine
    with pytest.raises(Exception, match="already exists and serves s3://favorita-dev-artifacts/models/a/model.tar.gz"):
        trainer._create_model("favorita-m", "s3://favorita-dev-artifacts/models/b/model.tar.gz")
    with pytest.raises(ClientError, match="Cannot create already existing Model"):
        trainer.sm.create_model(
            ModelName="favorita-m", PrimaryContainer={"Image": "x"}, ExecutionRoleArn=trainer.role_arn
        )


def test_names_past_63_characters_keep_their_prefix_and_stay_apart():
    """A long prefix and version push the stamp past SageMaker's 63 characters: cut there, two jobs a second apart
    would get one name (the second refused). The end is a short hash of the whole name instead."""
    from favorita_assets.aws.sagemaker import resource_name

    prefix, version = "favorita-production-eu", "deepar-2017-07-0123456789"
    first = resource_name(prefix, version, "abcdef12", "20260101120000")
    second = resource_name(prefix, version, "abcdef12", "20260101120001")
    assert len(first) == len(second) == 63 and first != second
    assert first.startswith(f"{prefix}-{version}-") and all(c.isalnum() or c == "-" for c in first)
    assert resource_name(prefix, version, "abcdef12", "20260101120000") == first  # the same parts, the same name
    # A job's retrain or re-run after a failure: the next name of its line, still within SageMaker's rule.
    import boto3

    from favorita_assets.aws.sagemaker import job_name

    rule = boto3.client("sagemaker", region_name="eu-west-1").meta.service_model.shape_for("TrainingJobName").metadata
    line = [job_name(first, n) for n in (1, 2, 3)]
    assert line[0] == first and len(set(line)) == 3
    assert all(len(name) <= rule["max"] and re.fullmatch(rule["pattern"], name) for name in line)
    assert resource_name("favorita-dev", "deepar-2017-07-0123456789") == "favorita-dev-deepar-2017-07-0123456789"


def test_the_versions_endpoint_is_deleted_once_the_forecasts_are_done(aws_stack, proxy, monkeypatch):
    """Endpoint mode: the forecasts asset releases the version's real-time endpoint (about $175 a month each, billed
    whether used or not) after its last forecast; the next predict creates it again."""
    from botocore.exceptions import ClientError

    storage = build_resources(Settings.from_env(aws_stack))["storage"]
    trainer = moto_trainer(aws_stack, inference_mode="endpoint")
    model = {"version": "deepar-2017-08-abc", **trainer.train(CONTEXT, storage, training_request(), on_epoch=None)}
    endpoint = trainer.ensure_endpoint(CONTEXT, model)
    config = trainer.sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    trainer.release(CONTEXT, model)
    with pytest.raises(ClientError):
        trainer.sm.describe_endpoint(EndpointName=endpoint)
    with pytest.raises(ClientError):
        trainer.sm.describe_endpoint_config(EndpointConfigName=config)
    trainer.release(CONTEXT, model)  # nothing left: nothing to do
    assert trainer.ensure_endpoint(CONTEXT, model) == endpoint  # created again when needed
    batch = moto_trainer(aws_stack, inference_mode="batch")
    batch.release(CONTEXT, model)  # batch transforms leave nothing running
    assert trainer.sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"


def test_run_monitoring_lets_the_pipeline_outlast_its_longest_aws_jobs():
    """The instance fails any run after max_runtime_seconds (six hours): too short for the pipeline's SageMaker
    training and two batch transforms. The pipeline job carries its own limit (dagster/max_runtime), sized to them."""
    import yaml

    from favorita_assets.automation import favorita_pipeline
    from favorita_assets.aws.sagemaker import TRAINING_WAIT_MARGIN_SECONDS, TRANSFORM_WAIT_SECONDS, SageMakerDeepAR
    from infra.terraform import REPO

    limit = int(favorita_pipeline.tags["dagster/max_runtime"])
    instance = yaml.safe_load((REPO / "infra" / "dagster" / "dagster-ecs.yaml").read_text())["run_monitoring"]
    # As long as train() waits: the job's stopping condition, then SageMaker's stop and upload.
    training = SageMakerDeepAR.model_fields["max_runtime_seconds"].default + TRAINING_WAIT_MARGIN_SECONDS
    transforms = 2 * TRANSFORM_WAIT_SECONDS  # the backtest's and the horizon's (a longer one is stopped)
    glue = 2 * 3600  # cleaning and channels, Glue's one-hour timeout each
    assert limit >= training + transforms + glue > instance["max_runtime_seconds"]


def test_two_runs_starting_the_same_training_wait_on_one_job(aws_stack, proxy, monkeypatch):
    """A retry launched while the first attempt still starts: both find no job, one CreateTrainingJob is refused
    (the name is taken, which the emulator holds moto to), and that run waits on the other's job."""
    storage = build_resources(Settings.from_env(aws_stack))["storage"]
    trainer = moto_trainer(aws_stack)
    monkeypatch.setattr("favorita_assets.aws.clients._sleep", lambda _seconds: None)
    name, _ = trainer.training_job(training_request())
    trainer.sm.create_training_job(**trainer.training_job_request(storage, training_request(), name))  # the other
    monkeypatch.setattr(type(trainer), "training_job", lambda self, request: (name, None))  # it looked just before
    model = trainer.train(CONTEXT, storage, training_request(), on_epoch=None)
    assert model["training_job_name"] == name
    refused = [entry for entry in proxy.log if entry[2] == "SageMaker.CreateTrainingJob" and entry[3] == 400]
    assert len(refused) == 1
