"""infra/terraform/envs/dev applied to moto's server on 127.0.0.1: boto3 confirms what was declared, a second plan
changes nothing, the default configuration's plan adds the deny-insecure-transport statements, the outputs drive the
Dagster aws deployment through the whole asset graph, events reach the queue, and destroy removes it all."""

from __future__ import annotations

import fnmatch
import json
import re

import boto3
import pytest
import requests
from aws_mode.conftest import aws_resources
from aws_mode.emulator import FAKE_CREDENTIALS, FaultProxy, MotoSageMaker
from aws_mode.iam import ADMINISTRATOR, as_principal, authorization, principal
from botocore.exceptions import ClientError
from dagster import DagsterInstance, build_sensor_context

from favorita_assets.aws.serving import deploy, rollback
from favorita_assets.definitions import build_definitions
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.settings import Settings, build_resources, settings_from_terraform
from infra.conftest import NOT_DELETABLE_IN_MOTO, destroy
from infra.terraform import plan_json, planned_changes
from ops_jobs.cleanup import cleanup_old_versions
from ops_jobs.upload import upload_landing, upload_raw_data

pytestmark = [pytest.mark.terraform, pytest.mark.aws_platform]

REGION = FAKE_CREDENTIALS["AWS_DEFAULT_REGION"]
ACCOUNT = "123456789012"  # moto's account


def client(stack, service):
    return boto3.client(service, endpoint_url=stack.url, region_name=REGION)


def out(stack, name):
    return stack.outputs[name]["value"]


def role_policy(iam, role: str) -> dict:
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return document if isinstance(document, dict) else json.loads(document)


def statements(document: dict) -> list[dict]:
    listed = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
    return [{**s, "Action": listed(s["Action"]), "Resource": listed(s["Resource"])} for s in document["Statement"]]


def allowed(document: dict, action: str, resource: str | None = None) -> bool:
    return any(
        s["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, a) for a in s["Action"])
        and (resource is None or any(fnmatch.fnmatchcase(resource, r) for r in s["Resource"]))
        for s in statements(document)
    )


def dagster_policy(stack) -> dict:
    iam = client(stack, "iam")
    arn = out(stack, "dagster_policy_arn")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return document if isinstance(document, dict) else json.loads(document)


def test_buckets_are_encrypted_versioned_private_logged_and_expire_scratch(dev_stack):
    s3 = client(dev_stack, "s3")
    key_arn = out(dev_stack, "kms_key_arn")
    logs = out(dev_stack, "access_log_bucket")
    for role in ("raw", "processed", "artifacts"):
        bucket = out(dev_stack, f"{role}_bucket")
        assert bucket == f"favorita-dev-{role}-{ACCOUNT}"
        (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
        assert rule["BucketKeyEnabled"] is True
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
        assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
            {"ObjectOwnership": "BucketOwnerEnforced"}
        ]
        assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {
            "TargetBucket": logs,
            "TargetPrefix": f"{bucket}/",
        }
        # EventBridge notifications: moto does not echo them on GET; test_events_reach_the_queue shows them working.
        rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
        assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    rules = {
        r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=out(dev_stack, "artifacts_bucket"))["Rules"]
    }
    assert (
        rules["expire-training"]["Expiration"]["Days"] == 180
        and rules["expire-training"]["Filter"]["Prefix"] == "training/"
    )
    assert {"expire-transforms", "expire-pipes", "expire-glue-temp", "expire-athena-results"} <= set(rules)

    (rule,) = s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"  # all S3 access logging accepts
    delivery = json.loads(s3.get_bucket_policy(Bucket=logs)["Policy"])["Statement"]
    by_sid = {s["Sid"]: s for s in delivery}
    assert set(by_sid) == {"S3ServerAccessLogDelivery", "LoadBalancerAccessLogDelivery"}  # Deny-TLS is off here
    assert by_sid["S3ServerAccessLogDelivery"]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    # The Dagster UI's load balancer: eu-west-1 predates August 2022, so its logs come from the region's ELB account.
    alb = by_sid["LoadBalancerAccessLogDelivery"]
    assert alb["Principal"] == {
        "AWS": "arn:aws:iam::156460612806:root",
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com",
    }
    assert alb["Action"] == "s3:PutObject" and alb["Resource"] == f"arn:aws:s3:::{logs}/alb/AWSLogs/{ACCOUNT}/*"
    kms = client(dev_stack, "kms")
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["Enabled"]
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"]


def test_roles_trust_their_service_and_the_dagster_policy_passes_only_them(dev_stack):
    iam = client(dev_stack, "iam")
    for role, service in (("glue", "glue"), ("sagemaker", "sagemaker"), ("scheduler", "scheduler")):
        trust = iam.get_role(RoleName=f"favorita-dev-{role}")["Role"]["AssumeRolePolicyDocument"]
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    sagemaker_role = out(dev_stack, "sagemaker_execution_role_arn")
    assert sagemaker_role == f"arn:aws:iam::{ACCOUNT}:role/favorita-dev-sagemaker"

    policy = dagster_policy(dev_stack)
    (pass_role,) = [s for s in statements(policy) if "iam:PassRole" in s["Action"]]
    assert sorted(pass_role["Resource"]) == sorted([sagemaker_role, f"arn:aws:iam::{ACCOUNT}:role/favorita-dev-glue"])
    assert pass_role["Action"] == ["iam:PassRole"]
    unscoped = {a for s in statements(policy) if "*" in s["Resource"] for a in s["Action"]}
    assert unscoped == {f"sagemaker:List{kind}" for kind in ("EndpointConfigs", "Endpoints", "ModelPackages", "Models")}
    assert allowed(
        policy, "sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/favorita-dev-x"
    )
    assert not allowed(
        policy, "sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/other-x"
    )
    assert not allowed(policy, "glue:StartJobRun", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/another-job")
    assert not allowed(policy, "iam:CreateRole")

    glue = role_policy(iam, "favorita-dev-glue")
    processed = out(dev_stack, "processed_bucket")
    assert allowed(glue, "s3:PutObject", f"arn:aws:s3:::{processed}/processed/cleaned_series/part-0.parquet")
    assert not allowed(glue, "s3:PutObject", f"arn:aws:s3:::{out(dev_stack, 'raw_bucket')}/raw/train/x.csv")
    artifacts = out(dev_stack, "artifacts_bucket")
    # the same job builds the DeepAR channels: training/ only, not the models or forecasts beside it
    assert allowed(
        glue, "s3:PutObject", f"arn:aws:s3:::{artifacts}/training/cutoff_month=2017-08/train/part-00000.json"
    )
    assert not allowed(glue, "s3:PutObject", f"arn:aws:s3:::{artifacts}/models/deepar-x/model.json")
    # and the challengers' per-series forecasts beside the backtest, not its scores or the published forecasts
    challengers = f"arn:aws:s3:::{artifacts}/evaluation/cutoff_month=2017-08/challengers"
    assert allowed(glue, "s3:PutObject", f"{challengers}/forecasts/part-00000.parquet")
    assert allowed(glue, "s3:DeleteObject", f"{challengers}/_glue_challengers.json")
    assert not allowed(glue, "s3:PutObject", f"arn:aws:s3:::{artifacts}/evaluation/cutoff_month=2017-08/metrics.json")
    assert not allowed(glue, "s3:PutObject", f"arn:aws:s3:::{artifacts}/forecasts/cutoff_month=2017-08/x.parquet")
    # Glue 5.0 writes to <prefix>/output and /error (--custom-logGroup-prefix); with the security configuration, to
    # <prefix>-<role>-<configuration>/...: exactly those groups, KMS association included; not Glue's defaults.
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
    encrypted = "/aws-glue/favorita-dev-favorita-dev-glue-favorita-dev-glue"
    for group in (
        "/aws-glue/favorita-dev/output",
        "/aws-glue/favorita-dev/error",
        f"{encrypted}/output",
        f"{encrypted}/error",
    ):
        assert allowed(glue, "logs:PutLogEvents", f"{logs}{group}:log-stream:jr_0123-driver"), group
        assert allowed(glue, "logs:CreateLogStream", f"{logs}{group}:log-stream:jr_0123-executor1"), group
        assert allowed(glue, "logs:AssociateKmsKey", f"{logs}{group}"), group
    assert sorted(out(dev_stack, "glue_log_group_names")) == sorted(
        ["/aws-glue/favorita-dev/output", "/aws-glue/favorita-dev/error", f"{encrypted}/output", f"{encrypted}/error"]
    )
    for group in ("/aws-glue/jobs/output", "/aws-glue/jobs/error", "/aws-glue/favorita-dev-other/output"):
        assert not allowed(glue, "logs:PutLogEvents", f"{logs}{group}:log-stream:jr_0123-driver"), group
    sagemaker = role_policy(iam, "favorita-dev-sagemaker")
    assert allowed(sagemaker, "s3:GetObject", f"arn:aws:s3:::{artifacts}/training/cutoff_month=2017-08/train/data.json")
    assert not allowed(sagemaker, "s3:GetObject", f"arn:aws:s3:::{out(dev_stack, 'raw_bucket')}/raw/train/x.csv")
    assert allowed(sagemaker, "ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:224300973850:repository/forecasting-deepar")


def test_glue_job_runs_the_uploaded_script_and_the_catalog_describes_the_forecasts(dev_stack):
    glue = client(dev_stack, "glue")
    s3 = client(dev_stack, "s3")
    artifacts = out(dev_stack, "artifacts_bucket")
    job = glue.get_job(JobName=out(dev_stack, "glue_job_name"))["Job"]
    assert job["Name"] == "favorita-dev-clean-series" and job["GlueVersion"] == "5.0"
    assert job["Role"] == f"arn:aws:iam::{ACCOUNT}:role/favorita-dev-glue"
    assert job["Command"]["ScriptLocation"] == f"s3://{artifacts}/glue/clean_series_job.py"
    assert job["DefaultArguments"]["--extra-py-files"] == f"s3://{artifacts}/glue/favorita_core.zip"
    assert job["DefaultArguments"]["--additional-python-modules"].split(",") == [
        "dagster-pipes==1.13.*",
        "orjson==3.*",
        "statsforecast==2.1.1",  # the backtest's challengers (--task challengers), as tested here
        "mlforecast==1.1.0",
        "lightgbm==4.7.0",
    ]
    assert job["SecurityConfiguration"] == "favorita-dev-glue"
    assert job["DefaultArguments"]["--custom-logGroup-prefix"] == "/aws-glue/favorita-dev"  # Glue 5.0's option
    assert "--continuous-log-logGroup" not in job["DefaultArguments"]  # Glue 4.0's, ignored by 5.0
    groups = client(dev_stack, "logs").describe_log_groups(logGroupNamePrefix="/aws-glue/favorita-dev")["logGroups"]
    assert sorted(g["logGroupName"] for g in groups) == sorted(out(dev_stack, "glue_log_group_names"))
    assert {g.get("kmsKeyId") for g in groups} == {out(dev_stack, "kms_key_arn")}
    for name in ("clean_series_job.py", "favorita_core.zip"):
        body = s3.get_object(Bucket=artifacts, Key=f"glue/{name}")["Body"].read()
        assert body == (dev_stack.glue_dir / name).read_bytes()

    table = glue.get_table(
        DatabaseName=out(dev_stack, "glue_database_name"), Name=out(dev_stack, "forecasts_table_name")
    )["Table"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns == [
        ("date", "date"),
        ("store_nbr", "bigint"),
        ("family", "string"),
        ("days_ahead", "bigint"),
        ("store_closed", "boolean"),
        ("mean", "double"),
        ("p10", "double"),
        ("p50", "double"),
        ("p90", "double"),
        ("model_version", "string"),
    ]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["cutoff_month"]
    assert table["Parameters"]["projection.enabled"] == "true"
    assert (
        table["Parameters"]["storage.location.template"]
        == f"s3://{artifacts}/forecasts/cutoff_month=${{cutoff_month}}/"
    )
    totals = glue.get_table(DatabaseName=out(dev_stack, "glue_database_name"), Name="forecast_totals")["Table"]
    assert [c["Name"] for c in totals["StorageDescriptor"]["Columns"]] == [
        "level",
        "store_nbr",
        "family",
        "date",
        "days_ahead",
        "mean",
        "p10",
        "p50",
        "p90",
    ]
    assert (
        totals["Parameters"]["storage.location.template"]
        == f"s3://{artifacts}/forecast_totals/cutoff_month=${{cutoff_month}}/"
    )
    workgroup = client(dev_stack, "athena").get_work_group(WorkGroup=out(dev_stack, "athena_workgroup"))["WorkGroup"]
    assert workgroup["Configuration"]["ResultConfiguration"]["OutputLocation"] == f"s3://{artifacts}/athena-results/"


def test_schedule_rules_queues_topic_and_registry(dev_stack):
    sqs = client(dev_stack, "sqs")
    queue_url = out(dev_stack, "event_queue_url")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=out(dev_stack, "dead_letter_queue_url"), AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert attributes["SqsManagedSseEnabled"] == "true" and attributes["ReceiveMessageWaitTimeSeconds"] == "20"
    assert json.loads(attributes["Policy"])["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}

    schedule = client(dev_stack, "scheduler").get_schedule(Name=out(dev_stack, "schedule_name"))
    assert schedule["ScheduleExpression"] == "cron(0 3 1 * ? *)" and schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["State"] == "ENABLED" and schedule["KmsKeyArn"] == out(dev_stack, "kms_key_arn")
    assert schedule["Target"]["Arn"] == attributes["QueueArn"]
    assert schedule["Target"]["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/favorita-dev-scheduler"
    assert schedule["Target"]["DeadLetterConfig"]["Arn"] == dlq_arn
    assert json.loads(schedule["Target"]["Input"])["detail-type"] == "Monthly Retrain"

    events = client(dev_stack, "events")
    rules = out(dev_stack, "rule_names")
    assert set(rules) == {"raw-data-landed", "training-job-ended"}
    for name in rules.values():
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == attributes["QueueArn"] and target["DeadLetterConfig"]["Arn"] == dlq_arn
    landed = json.loads(events.describe_rule(Name=rules["raw-data-landed"])["EventPattern"])
    assert landed["detail"]["object"]["key"] == [{"prefix": "landing/"}]

    (alarm,) = client(dev_stack, "cloudwatch").describe_alarms(AlarmNamePrefix="favorita-dev-events-dead")[
        "MetricAlarms"
    ]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        0,
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "favorita-dev-events-dlq"}]
    assert alarm["AlarmActions"] == [out(dev_stack, "alerts_topic_arn")]
    topic = client(dev_stack, "sns").get_topic_attributes(TopicArn=out(dev_stack, "alerts_topic_arn"))["Attributes"]
    assert topic["KmsMasterKeyId"] == out(dev_stack, "kms_key_arn")
    group = client(dev_stack, "sagemaker").describe_model_package_group(
        ModelPackageGroupName=out(dev_stack, "model_package_group_name")
    )
    assert group["ModelPackageGroupName"] == "favorita-dev-deepar"


def test_events_reach_the_queue_and_the_sensor_acts_on_them(dev_stack, small_data_dir):
    """The upload job's files under landing/ and a failed training job reach Terraform's queue (the pipeline's own
    raw/ writes do not); the Dagster sensor built from the outputs turns them into one refresh run and an alert on
    Terraform's topic, and empties the queue on its next tick."""
    sqs, sns = client(dev_stack, "sqs"), client(dev_stack, "sns")
    inbox = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=out(dev_stack, "alerts_topic_arn"), Protocol="sqs", Endpoint=inbox_arn)
    try:
        check_events_and_sensor(dev_stack, small_data_dir, inbox)
    finally:  # leave only what Terraform made, for the destroy test
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        sqs.delete_queue(QueueUrl=inbox)


def check_events_and_sensor(dev_stack, small_data_dir, inbox) -> None:
    sqs, s3 = client(dev_stack, "sqs"), client(dev_stack, "s3")
    queue_url = out(dev_stack, "event_queue_url")
    env = settings_from_terraform(dev_stack.outputs) | {"AWS_ENDPOINT_URL": dev_stack.url}
    settings = Settings.from_env({**env, "FAVORITA_DATA_DIR": str(small_data_dir)})
    defs = build_definitions(settings)
    resources = build_resources(settings)
    upload_landing(resources["storage"], small_data_dir, log=lambda _: None)  # six files under landing/
    s3.put_object(Bucket=out(dev_stack, "raw_bucket"), Key="raw/train/latest.json", Body=b"{}")  # no event wanted
    client(dev_stack, "events").put_events(
        Entries=[
            {
                "Source": "aws.sagemaker",
                "DetailType": "SageMaker Training Job State Change",
                "Detail": json.dumps(
                    {"TrainingJobName": "favorita-dev-deepar-2017-08-x", "TrainingJobStatus": "Failed"}
                ),
            }
        ]
    )

    sensor = defs.get_sensor_def("eventbridge_events")
    sensor_resources = {k: resources[k] for k in ("aws", "storage", "alerts")}
    requests_seen, cursor = [], None
    for _ in range(3):  # a tick takes at most 10 messages; the last one deletes what the one before received
        with build_sensor_context(
            instance=DagsterInstance.ephemeral(), resources=sensor_resources, cursor=cursor, definitions=defs
        ) as context:
            tick = sensor.evaluate_tick(context)
        requests_seen += [(r.run_key, r.partition_key) for r in tick.run_requests]
        cursor = tick.cursor
    # Six files and the manifest landed; only the manifest's event (written last) starts the refresh.
    assert len(requests_seen) == 1
    assert requests_seen[0][0].startswith("landed-") and requests_seen[0][1] is None  # refresh_data: not partitioned
    alerts = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(m["Body"])["Subject"] for m in alerts] == [
        "Favorita: SageMaker training job favorita-dev-deepar-2017-08-x failed"
    ]
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    assert attributes["Attributes"] == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_outputs_drive_the_asset_graph_and_every_ops_job_with_exactly_the_terraform_policies(dev_stack, small_data_dir):
    """`terraform output -json` -> settings -> the whole graph, on the stack Terraform made (Glue running the script
    Terraform uploaded), then the event sensor and every ops job; moto authorizes every request against IAM: Dagster
    signs as a user holding only Terraform's Dagster policy, the Glue job's script as one holding only the Glue role's
    policy, so any call outside them fails here (tests/aws_mode/iam.py says what moto cannot check)."""
    iam = client(dev_stack, "iam")
    dagster = principal(dev_stack.url, "dagster-runs", managed=[out(dev_stack, "dagster_policy_arn")])
    glue = principal(dev_stack.url, "glue-job", inline={"clean-series": role_policy(iam, "favorita-dev-glue")})
    admin = principal(dev_stack.url, "inspector", inline={"everything": ADMINISTRATOR})

    def inspect(service):
        return boto3.client(
            service,
            endpoint_url=dev_stack.url,
            region_name=REGION,
            aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"],
        )

    n_series = 12
    canned = {
        "predictions": [{"mean": [1.0] * 16, "quantiles": {"0.1": [0.5] * 16, "0.5": [1.0] * 16, "0.9": [2.0] * 16}}]
        * n_series
    }
    results = {"region": REGION, "results": [{"Body": json.dumps(canned), "ContentType": "application/json"}] * 2}
    assert (
        requests.post(
            f"{dev_stack.url}/moto-api/static/sagemaker/endpoint-results", json=results, timeout=10
        ).status_code
        == 201
    )
    proxy = FaultProxy(dev_stack.url)
    try:
        with pytest.MonkeyPatch.context() as patch, authorization(dev_stack.url):
            as_principal(dagster, patch)
            with pytest.raises(ClientError, match="AccessDenied|not authorized"):  # the enforcement is on
                boto3.session.Session().client("iam", endpoint_url=dev_stack.url, region_name=REGION).list_users()
            env = settings_from_terraform(dev_stack.outputs) | {
                "AWS_ENDPOINT_URL": proxy.url,
                "FAVORITA_GLUE_ENGINE": "pandas",
                "FAVORITA_POLL_SECONDS": "0.2",
            }
            assert env["FAVORITA_KMS_KEY_ARN"] == out(dev_stack, "kms_key_arn")
            settings, resources = aws_resources(env, small_data_dir, glue_job_env=glue, inference_mode="endpoint")
            report = run_pipeline(settings, config=run_config(epochs=2, num_cells=8), resources=resources)
            glue_runs = resources["cleaning"].last_client
            assert report.success, (report.failures, [r.stderr[-3000:] for r in glue_runs.runs.values()])
            ((_, argv),) = glue_runs.argv.items()
            assert argv[1].endswith("clean_series_job.py")
            ((_, channels_argv),) = resources["channels"].last_client.argv.items()  # as the Glue role, too
            assert channels_argv[channels_argv.index("--task") + 1] == "channels"
            ((_, challengers_argv),) = resources["challengers"].last_client.argv.items()  # and the challengers
            assert challengers_argv[challengers_argv.index("--task") + 1] == "challengers"
            run_every_ops_job(dev_stack, settings, resources, inspect)
            denied = [entry for entry in proxy.log if entry[3] == 403]
            assert denied == []
        check_what_the_run_wrote(dev_stack, inspect)
    finally:
        proxy.stop()


def run_every_ops_job(dev_stack, settings, resources, inspect) -> None:
    """The event sensor, deploy and rollback, low-stock alerts, clean-up and upload, as the Dagster principal."""
    storage, trainer = resources["storage"], resources["trainer"]
    defs = build_definitions(settings)
    with build_sensor_context(
        instance=DagsterInstance.ephemeral(),
        definitions=defs,
        resources={k: resources[k] for k in ("aws", "storage", "alerts")},
    ) as context:
        defs.get_sensor_def("eventbridge_events").evaluate_tick(context)  # receives, deletes, may alert

    version = storage.read_json(f"models/cutoff_month={report_month(storage)}/latest.json")["version"]
    package = inspect("sagemaker").create_model_package(
        ModelPackageGroupName=out(dev_stack, "model_package_group_name"),
        ModelPackageDescription=version,
        InferenceSpecification={
            "Containers": [{"Image": "deepar", "ModelDataUrl": storage.uri(f"models/{version}/model.tar.gz")}],
            "SupportedContentTypes": ["application/jsonlines"],
            "SupportedResponseMIMETypes": ["application/jsonlines"],
        },
        ModelApprovalStatus="Approved",
    )["ModelPackageArn"]
    moto_sm = MotoSageMaker(trainer.aws.client("sagemaker"))  # UpdateEndpoint, which moto lacks, as delete + create

    class Serving(type(trainer)):
        @property
        def sm(self):
            return moto_sm

    serving = Serving(**{**trainer.model_dump(exclude={"aws"}), "aws": trainer.aws})
    first = deploy(serving, storage, package, log=lambda _: None)
    registered = package.rsplit("/", 1)[0] + "/1"  # the run's own package (Rejected: DeepAR lost on canned answers)
    deploy(serving, storage, registered, force=True, log=lambda _: None)  # a second deployment updates the endpoint
    assert rollback(serving, storage, log=lambda _: None)["endpoint_config"] == first["endpoint_config"]

    for job, config in (
        (cleanup_old_versions, {"remove_old_versions": {"config": {"keep": 1}}}),
        (upload_raw_data, {"upload_raw_files": {"config": {"source_dir": str(settings.data_dir)}}}),
    ):
        job_resources = {k: resources[k] for k in ("storage", "trainer", "alerts", "raw_source") if k in resources}
        result = job.execute_in_process(resources=job_resources, run_config={"ops": config}, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]


def report_month(storage) -> str:
    (month,) = {k.split("cutoff_month=")[1][:7] for k in storage.list_keys("models") if k.endswith("latest.json")}
    return month


def check_what_the_run_wrote(dev_stack, inspect) -> None:
    s3 = inspect("s3")
    artifacts = out(dev_stack, "artifacts_bucket")
    (forecast,) = [o["Key"] for o in s3.list_objects_v2(Bucket=artifacts, Prefix="forecasts/")["Contents"]]
    assert re.fullmatch(r"forecasts/cutoff_month=\d{4}-\d{2}/forecasts\.parquet", forecast)  # the table's layout
    head = s3.head_object(Bucket=artifacts, Key=forecast)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == out(dev_stack, "kms_key_arn")
    top = {
        o["Key"].split("/")[0]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=artifacts)
        for o in page.get("Contents", [])
    }
    assert "pipes" in top and all(len(t) < 30 for t in top), top  # no message folder at a random top-level prefix
    (job,) = inspect("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    assert job["TrainingJobName"].startswith("favorita-dev-")


def test_a_second_plan_changes_nothing(dev_stack, tmp_path):
    assert planned_changes(plan_json(dev_stack, tmp_path, *dev_stack.vars)) == []


def test_quicksight_is_off_by_default_and_turned_on_adds_exactly_its_six_resources(dev_stack, tmp_path):
    """Applied above with its default, the root made no QuickSight resource; turned on, it plans the data source, the
    two data sets, the template and the dashboard over the platform's workgroup and tables, and the grant of the
    tables' objects, the query results and the key to QuickSight's service role, and changes nothing else."""
    principal = "arn:aws:quicksight:eu-west-1:123456789012:group/default/planners"
    plan = plan_json(
        dev_stack,
        tmp_path,
        *dev_stack.vars,
        "-var",
        "quicksight_enabled=true",
        "-var",
        f"quicksight_principal_arn={principal}",
    )
    prefix = "module.quicksight[0]."
    assert sorted(planned_changes(plan)) == sorted(
        (prefix + r, "create")
        for r in (
            "aws_quicksight_data_source.athena",
            "aws_quicksight_data_set.forecasts",
            "aws_quicksight_data_set.replenishment_plan",
            "aws_quicksight_template.planner",
            "aws_quicksight_dashboard.planner",
            "aws_iam_role_policy.service_role",
        )
    )
    after = {c["address"]: c["change"]["after"] for c in plan["resource_changes"]}
    source = after[prefix + "aws_quicksight_data_source.athena"]
    assert source["parameters"][0]["athena"][0]["work_group"] == out(dev_stack, "athena_workgroup")
    tables = {
        name: after[prefix + f"aws_quicksight_data_set.{name}"]["physical_table_map"][0]["relational_table"][0]
        for name in ("forecasts", "replenishment_plan")
    }
    assert {t["schema"] for t in tables.values()} == {out(dev_stack, "glue_database_name")}
    assert tables["replenishment_plan"]["name"] == "replenishment_plan" and tables["forecasts"]["name"] == out(
        dev_stack, "forecasts_table_name"
    )


def test_the_amazon_forecast_backend_adds_its_role_its_calls_on_the_projects_names_and_nothing_else(
    dev_stack, tmp_path
):
    """Planned with model_backend=amazon-forecast over the applied stack: the Forecast role and its policy are
    created, the Dagster policy changes, and nothing else. The role trusts Forecast for this account only and reaches
    only the datasets beside the channels and the version's export folder; the Dagster policy allows every Forecast
    call the backend makes on the names the backend makes, and no other name, and passes that role to Forecast."""
    from favorita_assets import storage_keys as keys
    from favorita_assets.aws.amazon_forecast import AmazonForecast, exports_prefix, forecast_name
    from favorita_assets.aws.clients import FavoritaAws

    plan = plan_json(dev_stack, tmp_path, *dev_stack.vars, "-var", "model_backend=amazon-forecast")
    iam_module = "module.platform.module.iam."
    assert sorted(planned_changes(plan)) == sorted(
        [
            (iam_module + "aws_iam_role.forecast[0]", "create"),
            (iam_module + "aws_iam_role_policy.forecast[0]", "create"),
            (iam_module + "aws_iam_policy.dagster", "policy"),
        ]
    )
    after = {c["address"]: c["change"]["after"] for c in plan["resource_changes"]}
    role = after[iam_module + "aws_iam_role.forecast[0]"]
    assert role["name"] == "favorita-dev-forecast"
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "forecast.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert plan["planned_values"]["outputs"]["model_backend"]["value"] == "amazon-forecast"

    artifacts = f"arn:aws:s3:::{out(dev_stack, 'artifacts_bucket')}"
    forecast_role = json.loads(after[iam_module + "aws_iam_role_policy.forecast[0]"]["policy"])
    dataset = f"{artifacts}/{keys.training_prefix('2017-08-01')}/forecast/target/part-00000.csv"
    export = f"{artifacts}/{exports_prefix(keys.model_prefix('forecast-2017-08-ab12'))}/forecast/part0.csv"
    assert allowed(forecast_role, "s3:GetObject", dataset) and not allowed(forecast_role, "s3:PutObject", dataset)
    assert allowed(forecast_role, "s3:PutObject", export)
    assert not allowed(
        forecast_role, "s3:GetObject", f"{artifacts}/{keys.training_prefix('2017-08-01')}/train/data.json"
    )
    assert not allowed(
        forecast_role, "s3:PutObject", f"{artifacts}/{keys.model_prefix('forecast-2017-08-ab12')}/model.json"
    )
    assert allowed(forecast_role, "kms:Decrypt", out(dev_stack, "kms_key_arn"))

    policy = json.loads(after[iam_module + "aws_iam_policy.dagster"]["policy"])
    arn = f"arn:aws:forecast:{REGION}:{ACCOUNT}"
    prefix = out(dev_stack, "sagemaker_name_prefix")  # FAVORITA_SAGEMAKER_NAME_PREFIX: the backend's name prefix too

    def calls(name_prefix: str) -> list[tuple[str, str]]:
        """(action, resource) of every call one training, its clean-up and a stop make, with the backend's names."""
        base = forecast_name(name_prefix, "forecast-2017-08-ab12", "20170901t030000")
        backend = AmazonForecast(role_arn="unused", aws=FavoritaAws(region_name=REGION))
        found = [
            (f"forecast:{a}DatasetGroup", f"{arn}:dataset-group/{base}")
            for a in ("Create", "Update", "Describe", "Delete")
        ]
        for name, request in backend.dataset_requests(base).items():
            dataset = request["DatasetName"]
            job = backend.import_request(base, name, f"{arn}:dataset/{dataset}", "s3://unused/")["DatasetImportJobName"]
            found += [(f"forecast:{a}Dataset", f"{arn}:dataset/{dataset}") for a in ("Create", "Describe", "Delete")]
            found += [
                (f"forecast:{a}DatasetImportJob", f"{arn}:dataset-import-job/{dataset}/{job}")
                for a in ("Create", "Describe", "Delete")
            ]
        for kind, parent, child in (
            ("predictor", base, None),
            ("forecast", base, None),
            ("predictor-backtest-export-job", base, forecast_name(base, "backtest")),
            ("forecast-export-job", base, forecast_name(base, "export")),
        ):
            resource = f"{arn}:{kind}/{parent}" + (f"/{child}" if child else "")
            action = "".join(part.capitalize() for part in kind.split("-"))
            found += [(f"forecast:{a}{action}", resource) for a in ("Create", "Describe", "Delete")]
            found += [("forecast:StopResource", resource), ("forecast:TagResource", resource)]
        found += [
            ("forecast:CreateAutoPredictor", f"{arn}:predictor/{base}"),
            ("forecast:DescribeAutoPredictor", f"{arn}:predictor/{base}"),
            ("forecast:DeleteResourceTree", f"{arn}:dataset-group/{base}"),
            ("forecast:CreatePredictor", "arn:aws:forecast:::algorithm/CNN-QR"),
        ]
        return found

    refused = [call for call in calls(prefix) if not allowed(policy, *call)]
    assert refused == []
    assert [call for call in calls("other-team") if allowed(policy, *call) and "algorithm/" not in call[1]] == []
    assert allowed(policy, "forecast:ListDatasetGroups", "*")
    assert not allowed(
        policy, "forecast:CreateDatasetGroup", f"arn:aws:forecast:{REGION}:{ACCOUNT}:dataset-group/favorita_devx"
    )
    unscoped = {a for s in statements(policy) if "*" in s["Resource"] for a in s["Action"]}
    assert unscoped == {"forecast:ListDatasetGroups"} | {
        f"sagemaker:List{kind}" for kind in ("EndpointConfigs", "Endpoints", "ModelPackages", "Models")
    }
    (pass_role,) = [s for s in statements(policy) if "iam:PassRole" in s["Action"]]
    assert f"arn:aws:iam::{ACCOUNT}:role/favorita-dev-forecast" in pass_role["Resource"]
    assert "forecast.amazonaws.com" in pass_role["Condition"]["StringEquals"]["iam:PassedToService"]


def test_the_default_configuration_denies_insecure_transport(dev_stack, tmp_path):
    """Planned with the variable at its default: every bucket policy gains the Deny on aws:SecureTransport=false,
    and nothing else changes."""
    plan = plan_json(dev_stack, tmp_path, *dev_stack.vars_secure_default)  # enforce_secure_transport at its default
    changed = sorted({address for address, _ in planned_changes(plan)})
    assert changed == sorted(
        [f'module.platform.module.storage.aws_s3_bucket_policy.this["{b}"]' for b in ("artifacts", "processed", "raw")]
        + ["module.platform.module.storage.aws_s3_bucket_policy.logs"]
    )
    for change in plan["resource_changes"]:
        if change["address"] in changed:
            document = json.loads(change["change"]["after"]["policy"])
            (deny,) = [s for s in document["Statement"] if s.get("Sid") == "DenyInsecureTransport"]
            assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*" and deny["Principal"] == "*"
            assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_destroy_removes_the_stack(dev_stack):
    group = client(dev_stack, "sagemaker").describe_model_package_group(ModelPackageGroupName="favorita-dev-deepar")
    assert group["ModelPackageGroupStatus"] in ("Completed", "InProgress", "Pending")
    assert NOT_DELETABLE_IN_MOTO  # see conftest: moto cannot delete it
    destroy(dev_stack)
    s3 = client(dev_stack, "s3")
    assert s3.list_buckets()["Buckets"] == []
    assert client(dev_stack, "glue").get_jobs()["Jobs"] == []
    assert client(dev_stack, "sqs").list_queues().get("QueueUrls", []) == []
    assert client(dev_stack, "events").list_rules(NamePrefix="favorita-dev")["Rules"] == []
    assert [
        r["RoleName"]
        for r in client(dev_stack, "iam").list_roles()["Roles"]
        if r["RoleName"].startswith("favorita-dev")
    ] == []
    assert client(dev_stack, "scheduler").list_schedules()["Schedules"] == []
