"""Operations in aws mode against moto: landing uploads with S3 checksums, the model registry with deploy and
rollback of the serving endpoint, the EventBridge queue sensor, and alerts on SNS."""

import json

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DefaultScheduleStatus,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    op,
)

from aws_mode.conftest import BUCKETS, direct_client
from aws_mode.emulator import MotoSageMaker
from favorita_assets.automation.sensors import alert_on_run_failure
from favorita_assets.aws.sagemaker import SageMakerDeepAR
from favorita_assets.aws.serving import DEPLOYMENTS, ServingError, deploy, rollback
from favorita_assets.aws.sns import SnsAlerts
from favorita_assets.definitions import build_definitions
from favorita_assets.settings import Settings, build_resources
from ops_jobs import cleanup_old_versions
from ops_jobs.upload import upload_landing


@pytest.fixture
def ops_stack(aws_stack, moto_url):
    """The aws_stack plus what Terraform's scheduling and training modules add: queue, topic, registry group."""
    sqs, sns = direct_client(moto_url, "sqs"), direct_client(moto_url, "sns")
    queue = sqs.create_queue(QueueName="favorita-dev-events")["QueueUrl"]
    topic = sns.create_topic(Name="favorita-dev-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]  # an SNS subscriber, to read what was published
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "false"})
    direct_client(moto_url, "sagemaker").create_model_package_group(ModelPackageGroupName="favorita-dev-deepar")
    env = {
        **aws_stack,
        "FAVORITA_EVENT_QUEUE_URL": queue,
        "FAVORITA_ALERTS_TOPIC_ARN": topic,
        "FAVORITA_MODEL_PACKAGE_GROUP": "favorita-dev-deepar",
        "FAVORITA_SAGEMAKER_NAME_PREFIX": "favorita-dev",
    }
    return {"env": env, "queue": queue, "inbox": inbox, "topic": topic}


def inbox_messages(moto_url, inbox) -> list[dict]:
    sqs = direct_client(moto_url, "sqs")
    got = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def test_upload_lands_files_in_the_raw_bucket_with_sha256_checksums(aws_stack, moto_url, small_data_dir):
    storage = build_resources(Settings.from_env(aws_stack))["storage"]
    first = upload_landing(storage, small_data_dir, log=lambda _: None)
    assert "train.csv" in first["uploaded"]
    s3 = direct_client(moto_url, "s3")
    head = s3.head_object(Bucket=BUCKETS["raw"], Key="landing/train.csv", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"]  # S3 verified the bytes it received against this
    assert (
        json.loads(s3.get_object(Bucket=BUCKETS["raw"], Key="landing/_manifest.json")["Body"].read())["train_last_date"]
        == "2017-08-15"
    )
    second = upload_landing(storage, small_data_dir, log=lambda _: None)
    assert second["uploaded"] == [] and set(second["skipped"]) == set(first["uploaded"])


def register(sm, version: str, approved: bool) -> str:
    arn = sm.create_model_package(
        ModelPackageGroupName="favorita-dev-deepar",
        ModelPackageDescription=version,
        InferenceSpecification={
            "Containers": [
                {"Image": "deepar", "ModelDataUrl": f"s3://{BUCKETS['artifacts']}/models/{version}/model.tar.gz"}
            ],
            "SupportedContentTypes": ["application/jsonlines"],
            "SupportedResponseMIMETypes": ["application/jsonlines"],
        },
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved" if approved else "Rejected")
    return arn


def test_deploy_from_the_registry_and_roll_back(ops_stack, moto_url):
    resources = build_resources(Settings.from_env(ops_stack["env"]))
    storage, trainer = resources["storage"], resources["trainer"]
    moto_sm = MotoSageMaker(trainer.aws.client("sagemaker"))

    class Serving(SageMakerDeepAR):
        @property
        def sm(self):
            return moto_sm

    serving = Serving(**{**trainer.model_dump(exclude={"aws"}), "aws": trainer.aws})
    with pytest.raises(ServingError, match="holds no approved package"):
        deploy(serving, storage, log=lambda _: None)
    first = register(moto_sm, "deepar-2017-07-aaa", approved=True)
    rejected = register(moto_sm, "deepar-2017-08-bbb", approved=False)
    one = deploy(serving, storage, log=lambda _: None)  # the newest approved: first
    assert one["package_arn"] == first and one["endpoint"] == "favorita-dev-serving"
    with pytest.raises(ServingError, match="not Approved"):
        deploy(serving, storage, rejected, log=lambda _: None)
    two = deploy(serving, storage, rejected, force=True, log=lambda _: None)
    sm = direct_client(moto_url, "sagemaker")
    assert sm.describe_endpoint(EndpointName="favorita-dev-serving")["EndpointConfigName"] == two["endpoint_config"]
    assert moto_sm.updates == [("favorita-dev-serving", two["endpoint_config"])]
    model = sm.describe_model(ModelName=two["model_name"])
    assert model["PrimaryContainer"]["ModelPackageName"] == rejected

    back = rollback(serving, storage, log=lambda _: None)
    assert back["package_arn"] == first and back["rolled_back"] == rejected
    assert sm.describe_endpoint(EndpointName="favorita-dev-serving")["EndpointConfigName"] == one["endpoint_config"]
    state = storage.read_json(DEPLOYMENTS)
    assert [e["action"] for e in state["log"]] == ["deploy", "deploy", "rollback"] and len(state["stack"]) == 1
    with pytest.raises(ServingError, match="nothing to roll back to"):
        rollback(serving, storage, log=lambda _: None)


def s3_created(key: str) -> dict:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": BUCKETS["raw"]}, "object": {"key": key}},
    }


def test_event_sensor_waits_for_the_manifest_survives_a_bad_message_and_alerts_once(
    ops_stack, moto_url, small_data_dir, tmp_path
):
    import shutil
    import time

    import pandas as pd

    from favorita_assets.automation import refresh_data
    from favorita_assets.automation.sensors import build_event_sensor
    from favorita_assets.storage_keys import LANDING_MANIFEST

    sqs = direct_client(moto_url, "sqs")
    queue = sqs.create_queue(QueueName="favorita-dev-events-quick", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    settings = Settings.from_env({**ops_stack["env"], "FAVORITA_EVENT_QUEUE_URL": queue})
    resources = build_resources(settings)
    storage = resources["storage"]
    sensor = build_event_sensor(queue, refresh_data, settings)
    sensor_resources = {k: resources[k] for k in ("aws", "storage", "alerts")}
    instance = DagsterInstance.ephemeral()

    def tick(cursor, *bodies):
        for body in bodies:
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
        with build_sensor_context(instance=instance, resources=sensor_resources, cursor=cursor) as context:
            return sensor.evaluate_tick(context)

    first_upload = upload_landing(storage, small_data_dir, log=lambda _: None)
    failure = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Training Job State Change",
        "detail": {"TrainingJobName": "favorita-dev-deepar-y", "TrainingJobStatus": "Failed"},
    }
    # A second upload is under way: train.csv's event arrives before the manifest that lists it is rewritten.
    a = tick(None, s3_created("landing/train.csv"), failure)
    assert a.run_requests == [] and len(inbox_messages(moto_url, ops_stack["inbox"])) == 1
    newer = tmp_path / "newer"
    shutil.copytree(small_data_dir, newer)
    train = pd.read_csv(newer / "train.csv")
    train.loc[3, "sales"] += 1
    train.to_csv(newer / "train.csv", index=False)
    second_upload = upload_landing(storage, newer, log=lambda _: None)
    assert second_upload["files"] != first_upload["files"]
    # The handles of tick a expired before they were deleted: its two messages come back with the manifest's event.
    time.sleep(1.5)
    b = tick(json.dumps({"delete": [], "alerted": json.loads(a.cursor)["alerted"]}), s3_created(LANDING_MANIFEST))
    (request,) = b.run_requests
    digest = __import__("hashlib").sha256(json.dumps(second_upload["files"], sort_keys=True).encode()).hexdigest()[:16]
    assert request.run_key == f"landed-{digest}"  # the complete second upload, not the first
    assert inbox_messages(moto_url, ops_stack["inbox"]) == []  # the redelivered failure is not alerted twice
    # A message that cannot be handled (here: the manifest is unreadable) stays on the queue; the others go on.
    storage.write_bytes(LANDING_MANIFEST, b"{not json")
    monthly = {
        "source": "favorita.scheduler",
        "detail-type": "Monthly Retrain",
        "time": "2017-09-01T03:00:00Z",
        "detail": {},
    }
    c = tick(b.cursor, s3_created(LANDING_MANIFEST), monthly)
    assert [r.run_key for r in c.run_requests] == ["monthly-2017-08"]
    assert len(json.loads(c.cursor)["delete"]) == 1  # the bad one is not deleted: it returns, then the DLQ alarms


def test_event_sensor_starts_each_run_once_and_deletes_messages_after_recording(ops_stack, moto_url, small_data_dir):
    resources = build_resources(Settings.from_env(ops_stack["env"]))
    upload_landing(resources["storage"], small_data_dir, log=lambda _: None)
    sqs = direct_client(moto_url, "sqs")
    queue = ops_stack["queue"]
    bodies = [
        {
            "source": "favorita.scheduler",
            "detail-type": "Monthly Retrain",
            "time": "2017-09-01T03:00:00Z",
            "detail": {},
        },
        {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {"bucket": {"name": BUCKETS["raw"]}, "object": {"key": "landing/train.csv"}},
        },
        s3_created("landing/_manifest.json"),
        s3_created("landing/_manifest.json"),  # e.g. EventBridge delivering twice
        {
            "source": "aws.sagemaker",
            "detail-type": "SageMaker Training Job State Change",
            "detail": {
                "TrainingJobName": "favorita-dev-deepar-x",
                "TrainingJobStatus": "Failed",
                "FailureReason": "ClientError: bad channel",
            },
        },
    ]
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    defs = build_definitions(Settings.from_env(ops_stack["env"]))
    sensor = defs.get_sensor_def("eventbridge_events")  # defined in aws mode with a queue; the schedule is then off
    assert defs.get_schedule_def("monthly_retrain").default_status == DefaultScheduleStatus.STOPPED
    sensor_resources = {k: resources[k] for k in ("aws", "storage", "alerts")}
    instance = DagsterInstance.ephemeral()

    with build_sensor_context(instance=instance, resources=sensor_resources, cursor=None, definitions=defs) as context:
        first = sensor.evaluate_tick(context)
    keys = sorted((r.run_key, r.partition_key) for r in first.run_requests)
    landed = [k for k in keys if k[0].startswith("landed-")]
    # Both start refresh_data (not partitioned); its new cleaned series then start the forecast (forecast_new_data).
    assert ("monthly-2017-08", None) in keys and len(landed) == 2 and landed[0] == landed[1]  # one refresh key
    assert landed[0][1] is None and {r.job_name for r in first.run_requests} <= {None, "refresh_data"}
    (alert,) = inbox_messages(moto_url, ops_stack["inbox"])
    assert "favorita-dev-deepar-x" in alert["Subject"] and "ClientError: bad channel" in alert["Message"]
    # Not deleted yet: the tick that received them has not been recorded. Made visible again, they would come back.
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "5"

    with build_sensor_context(
        instance=instance, resources=sensor_resources, cursor=first.cursor, definitions=defs
    ) as context:
        second = sensor.evaluate_tick(context)
    assert second.run_requests == []
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    assert attributes["Attributes"] == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_run_failure_and_quality_gate_alerts_reach_sns(ops_stack, moto_url):
    alerts = build_resources(Settings.from_env(ops_stack["env"]))["alerts"]
    assert isinstance(alerts, SnsAlerts)

    @op
    def broken_step():
        raise ValueError("oil.csv could not be read")

    @job
    def favorita_demo_job():
        broken_step()

    instance = DagsterInstance.ephemeral()
    result = favorita_demo_job.execute_in_process(instance=instance, raise_on_error=False)
    failure = [e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE][0]
    with build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alerts": alerts},
    ) as context:
        alert_on_run_failure(context.for_run_failure())
    (message,) = inbox_messages(moto_url, ops_stack["inbox"])
    assert message["Subject"] == "Favorita run failed: favorita_demo_job"
    assert (
        f"/runs/{result.run_id}" in message["Message"]
        and "- broken_step: ValueError: oil.csv could not be read" in message["Message"]
    )
    assert message["MessageAttributes"]["kind"]["Value"] == "run_failure"


def test_cleanup_removes_old_versions_sagemaker_resources_but_not_the_serving_endpoint(ops_stack, moto_url):
    resources = build_resources(Settings.from_env(ops_stack["env"]))
    storage = resources["storage"]
    sm = direct_client(moto_url, "sagemaker")
    role = ops_stack["env"]["FAVORITA_SAGEMAKER_ROLE_ARN"]

    def serve(name: str, model: str) -> None:
        sm.create_model(
            ModelName=model,
            PrimaryContainer={"Image": "deepar", "ModelDataUrl": "s3://x/model.tar.gz"},
            ExecutionRoleArn=role,
        )
        sm.create_endpoint_config(
            EndpointConfigName=f"{name}-20261125000000",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InstanceType": "ml.c5.xlarge",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-20261125000000")

    versions = [f"deepar-2017-0{i}-abc{i}" for i in (6, 7, 8)]
    for day, version in enumerate(versions, start=1):
        storage.write_json(
            f"models/{version}/model.json", {"version": version, "trained_at": f"2026-11-0{day}T00:00:00+00:00"}
        )
        storage.write_json(f"models/cutoff_month={version[7:14]}/latest.json", {"version": version})
        serve(f"favorita-dev-{version}", f"favorita-dev-{version}-2026110{day}000000")  # one model per training
    serve("favorita-dev-serving", "favorita-dev-pkg-1-20261125000000")
    register(sm, versions[0], approved=True)  # June's model is Approved in the registry: a deploy may need it

    result = cleanup_old_versions.execute_in_process(
        resources=resources,
        run_config={"ops": {"remove_old_versions": {"config": {"keep": 1, "remove_old_months": True}}}},
    )
    assert result.success
    out = result.output_for_node("remove_old_versions")
    assert (
        out["removed"] == [versions[1]] and out["kept"] == [versions[0], versions[2]] and out["in_use"] == [versions[0]]
    )
    assert out["dropped_months"] == ["2017-06", "2017-07"]
    assert out["sagemaker"]["endpoints"] == [f"favorita-dev-{versions[1]}"]
    assert sorted(e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]) == sorted(
        ["favorita-dev-serving", f"favorita-dev-{versions[0]}", f"favorita-dev-{versions[2]}"]
    )
    assert f"favorita-dev-{versions[1]}-20261102000000" not in {m["ModelName"] for m in sm.list_models()["Models"]}
    assert len(sm.list_endpoint_configs()["EndpointConfigs"]) == 3
    assert storage.list_keys("models") == sorted(
        [
            f"models/{versions[0]}/model.json",
            f"models/{versions[2]}/model.json",
            "models/cutoff_month=2017-08/latest.json",
        ]
    )
