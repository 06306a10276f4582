"""Dagster itself on AWS (infra/terraform/modules/dagster), applied with the whole of envs/dev to moto's server on
127.0.0.1: what moto records of the ECS services and task definitions, the RDS instance, the security groups, the
image repository and the load balancer; a run launched through the production instance's EcsRunLauncher; a run
whose Fargate task never starts, failed by run monitoring and retried once; the deploy of a new image and a rollback;
a second plan that changes nothing; a clean destroy.

moto 5.2's ECS, RDS, ECR, ELBv2 and Cloud Map are partial. Where it records less than AWS, the test says so at the
assertion and checks what moto does record:
- no container ever runs: a task is RUNNING as soon as RunTask returns (ECS would take it through PROVISIONING and
  PENDING); the never-starting task is made by setting the recorded task's state in moto's backend;
- a service's deployment configuration (minimum/maximum percent) is not returned by DescribeServices, so the daemon's
  "never two" is checked in the plan and in `terraform test` (modules/dagster/tests);
- ECR accepts no layer pushes, so the deploy's push step cannot run here; the image it would push is built by
  tests/production/test_image.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import yaml
from aws_mode.emulator import FAKE_CREDENTIALS

from infra.conftest import NOT_DELETABLE_IN_MOTO, apply_dev, destroy
from infra.terraform import REPO, plan_json, planned_changes

pytestmark = [pytest.mark.terraform, pytest.mark.aws_hosting]

REGION = FAKE_CREDENTIALS["AWS_DEFAULT_REGION"]
ACCOUNT = "123456789012"  # moto's account
NAME = "favorita-dev"
ECS_INSTANCE = REPO / "infra" / "dagster" / "dagster-ecs.yaml"


@pytest.fixture(scope="module")
def stack(terraform_bin, moto_server, tmp_path_factory):
    # AWS's default since 2021: task ARNs carry the cluster name, which the daemon's IAM policy scopes to.
    boto3.client("ecs", endpoint_url=moto_server, region_name=REGION).put_account_setting(
        name="taskLongArnFormat", value="enabled"
    )
    # moto counts a service's tasks as running only when told to (no container runs): one each, as ECS would report.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
        applied = apply_dev(terraform_bin, moto_server, tmp_path_factory.mktemp("hosting"), hosting=True)
        print(f"\nhosting: apply {applied.applied_in:.0f}s")
        yield applied
        if not applied.destroyed:
            destroy(applied)


def client(stack, service):
    return boto3.client(service, endpoint_url=stack.url, region_name=REGION)


def out(stack, name):
    return stack.outputs[name]["value"]


def task_definition(stack, family: str) -> dict:
    return client(stack, "ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]


def container(definition: dict) -> dict:
    (only,) = definition["containerDefinitions"]
    return only


def environment(definition: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(definition)["environment"]}


def services(stack) -> dict[str, dict]:
    names = out(stack, "dagster_service_names")
    described = client(stack, "ecs").describe_services(
        cluster=out(stack, "dagster_cluster_name"), services=list(names.values())
    )
    by_name = {s["serviceName"]: s for s in described["services"]}
    return {role: by_name[name] for role, name in names.items()}


def test_every_task_runs_the_image_with_its_own_role_and_the_password_only_by_arn(stack):
    repository = out(stack, "dagster_ecr_repository_url")
    secret_arn = out(stack, "dagster_database_secret_arn")
    db = client(stack, "rds").describe_db_instances(DBInstanceIdentifier=f"{NAME}-dagster")["DBInstances"][0]
    roles = {}
    for role in ("webserver", "daemon", "code-server", "run"):
        definition = task_definition(stack, f"{NAME}-{role}")
        spec = container(definition)
        assert spec["image"] == f"{repository}:bootstrap"
        assert definition["requiresCompatibilities"] == ["FARGATE"] and definition["networkMode"] == "awsvpc"
        assert definition["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{NAME}-dagster-execution"
        roles[role] = definition["taskRoleArn"]
        assert spec["secrets"] == [{"name": "DAGSTER_PG_PASSWORD", "valueFrom": f"{secret_arn}:password::"}]
        env = environment(definition)
        assert not [k for k in env if "PASSWORD" in k or "SECRET" in k], env
        assert env["DAGSTER_HOME"] == "/opt/dagster/ecs" and env["FAVORITA_DEPLOYMENT"] == "aws"
        assert env["DAGSTER_PG_HOST"] == db["Endpoint"]["Address"] and env["DAGSTER_PG_USER"] == "dagster"
        assert env["FAVORITA_RAW_BUCKET"] == out(stack, "raw_bucket") and env["FAVORITA_EVENT_QUEUE_URL"] == out(
            stack, "event_queue_url"
        )
        assert env["FAVORITA_DAGSTER_URL"] == out(stack, "dagster_ui_url")
        assert spec["readonlyRootFilesystem"] is True and spec["user"] == "10001"
        assert spec["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/{NAME}-dagster"
    assert len(set(roles.values())) == 4, roles  # one role per kind of task
    assert roles["run"] == out(stack, "dagster_run_launcher")["task_role_arn"]
    # The runs and the code server (its sensors read the queue) hold the Dagster policy; the webserver and daemon do
    # not.
    iam = client(stack, "iam")
    attached = {
        role: [
            p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=arn.rsplit("/", 1)[1])["AttachedPolicies"]
        ]
        for role, arn in roles.items()
    }
    policy = out(stack, "dagster_policy_arn")
    assert attached == {"webserver": [], "daemon": [], "code-server": [policy], "run": [policy]}
    assert (
        environment(task_definition(stack, f"{NAME}-code-server"))["DAGSTER_CURRENT_IMAGE"] == f"{repository}:bootstrap"
    )


def test_the_daemons_ecs_rights_are_scoped_to_the_cluster_and_the_run_family(stack):
    iam = client(stack, "iam")
    (name,) = iam.list_role_policies(RoleName=f"{NAME}-dagster-daemon")["PolicyNames"]
    document = iam.get_role_policy(RoleName=f"{NAME}-dagster-daemon", PolicyName=name)["PolicyDocument"]
    document = document if isinstance(document, dict) else json.loads(document)
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{NAME}-dagster"
    start = by_sid["StartRunTasks"]
    assert start["Resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{NAME}-run:*"
    assert start["Condition"] == {"ArnEquals": {"ecs:cluster": cluster_arn}}
    assert by_sid["WatchAndStopRunTasks"]["Resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{NAME}-dagster/*"
    passed = by_sid["PassTheRunRoles"]
    assert sorted(passed["Resource"]) == sorted(
        [out(stack, "dagster_run_launcher")["task_role_arn"], out(stack, "dagster_run_launcher")["execution_role_arn"]]
    )
    unscoped = [s["Sid"] for s in document["Statement"] if s["Resource"] == "*"]
    assert unscoped == ["DescribeTheRunTaskDefinition"]  # DescribeTaskDefinition has no resource type in IAM


def test_services_run_in_the_private_subnets_the_daemon_alone(stack):
    found = services(stack)
    subnets = set(out(stack, "dagster_run_launcher")["subnets"])
    ec2 = client(stack, "ec2")
    private = {s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=list(subnets))["Subnets"]}
    assert all(not s["MapPublicIpOnLaunch"] for s in private.values())
    for role, service in found.items():
        assert service["desiredCount"] == 1, role
        assert service["launchType"] == "FARGATE", role
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        assert set(network["subnets"]) == subnets and network["assignPublicIp"] == "DISABLED", role
    (target,) = found["webserver"]["loadBalancers"]
    assert target["containerName"] == "webserver" and target["containerPort"] == 3000
    (registry,) = found["code_server"]["serviceRegistries"]
    namespace = client(stack, "servicediscovery").list_namespaces()["Namespaces"]
    assert [n["Name"] for n in namespace] == [f"{NAME}.dagster.internal"]
    assert registry["registryArn"].startswith(f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/")


def test_the_database_is_encrypted_private_backed_up_and_its_password_is_not_in_the_state(stack):
    (db,) = client(stack, "rds").describe_db_instances(DBInstanceIdentifier=f"{NAME}-dagster")["DBInstances"]
    key = out(stack, "kms_key_arn")
    assert db["StorageEncrypted"] is True and db["KmsKeyId"] == key
    assert db["PubliclyAccessible"] is False
    assert db["BackupRetentionPeriod"] >= 1 and db["Engine"] == "postgres"
    assert db["MasterUserSecret"]["SecretArn"] == out(stack, "dagster_database_secret_arn")
    assert db["MasterUserSecret"]["KmsKeyId"] == key
    groups = {g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]}
    assert len(groups) == 1
    subnets = {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]}
    assert subnets == set(out(stack, "dagster_run_launcher")["subnets"])  # the private subnets
    state_text = stack.tf.run("dev", "state", "pull").stdout
    instance = state_attributes(stack, "aws_db_instance", "this", json.loads(state_text))
    assert instance["manage_master_user_password"] is True and not instance["password"]  # Terraform never had one
    secrets = client(stack, "secretsmanager")
    try:
        value = json.loads(secrets.get_secret_value(SecretId=db["MasterUserSecret"]["SecretArn"])["SecretString"])
    except secrets.exceptions.ResourceNotFoundException:
        value = None  # moto 5.2 reports the ARN of an RDS-managed secret without keeping a secret behind it
    if value:
        assert value["password"] not in state_text
    assert "master_user_password" not in json.dumps(stack.outputs)


def rotation_succeeded(secret_arn: str) -> dict:
    """The event Secrets Manager sends through CloudTrail when it has rotated ``secret_arn`` (AWS's documented
    shape)."""
    return {
        "Source": "aws.secretsmanager",
        "DetailType": "AWS Service Event via CloudTrail",
        "Detail": json.dumps(
            {
                "eventVersion": "1.05",
                "userIdentity": {"accountId": ACCOUNT, "invokedBy": "secretsmanager.amazonaws.com"},
                "eventSource": "secretsmanager.amazonaws.com",
                "eventName": "RotationSucceeded",
                "awsRegion": REGION,
                "additionalEventData": {"SecretId": secret_arn},
                "eventType": "AwsServiceEvent",
                "managementEvent": True,
                "recipientAccountId": ACCOUNT,
            }
        ),
    }


def test_a_rotated_database_password_redeploys_the_three_services(stack):
    """Terraform owns the rotation schedule; RotationSucceeded of the database secret (and of no other secret) starts
    the redeploy state machine, whose three ECS calls force a new deployment of each service. moto's EventBridge does
    not deliver to state machines (it fails the whole PutEvents) and its Step Functions do not run aws-sdk tasks:
    the rule is checked with a queue in the state machine's place, and the state machine's calls are made as it
    would make them."""
    secret_arn = out(stack, "dagster_database_secret_arn")
    rotation = client(stack, "secretsmanager").describe_secret(SecretId=secret_arn)
    assert rotation["RotationEnabled"] is True and rotation["RotationRules"]["ScheduleExpression"].startswith("cron(")
    events, sqs = client(stack, "events"), client(stack, "sqs")
    rule = f"{NAME}-dagster-db-rotated"
    (target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
    machine = client(stack, "stepfunctions").describe_state_machine(stateMachineArn=target["Arn"])
    assert machine["name"] == f"{NAME}-dagster-redeploy" and target["RoleArn"].endswith(
        f"/{NAME}-dagster-rotated-event"
    )
    queue_url = sqs.create_queue(QueueName="rotation-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.remove_targets(Rule=rule, Ids=[target["Id"]])
    events.put_targets(Rule=rule, Targets=[{"Id": "probe", "Arn": queue_arn}])
    try:
        other = secret_arn.replace("rds!", "rds!other-")
        events.put_events(Entries=[rotation_succeeded(other), rotation_succeeded(secret_arn)])
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get(
            "Messages", []
        )
        assert [json.loads(m["Body"])["detail"]["additionalEventData"]["SecretId"] for m in received] == [secret_arn]
    finally:
        events.remove_targets(Rule=rule, Ids=["probe"])
        events.put_targets(Rule=rule, Targets=[{k: target[k] for k in ("Id", "Arn", "RoleArn")}])
        sqs.delete_queue(QueueUrl=queue_url)

    definition = json.loads(machine["definition"])
    ecs = client(stack, "ecs")
    called = []
    for branch in definition["States"]["Redeploy"]["Branches"]:
        (task,) = branch["States"].values()
        assert task["Resource"] == "arn:aws:states:::aws-sdk:ecs:updateService"
        parameters = {key[0].lower() + key[1:]: value for key, value in task["Parameters"].items()}
        called.append(ecs.update_service(**parameters)["service"]["serviceName"])
    assert sorted(called) == sorted(out(stack, "dagster_service_names").values())
    assert all(
        task["Parameters"]["ForceNewDeployment"] is True
        for branch in definition["States"]["Redeploy"]["Branches"]
        for task in branch["States"].values()
    )


def state_attributes(stack, kind: str, name: str, state: dict | None = None) -> dict:
    """The attributes Terraform holds for module.dagster's resource ``kind.name`` (in ``state``, else pulled)."""
    state = state or json.loads(stack.tf.run("dev", "state", "pull").stdout)
    (found,) = [
        r["instances"][0]["attributes"]
        for r in state["resources"]
        if r["type"] == kind and r["name"] == name and r.get("module") == "module.dagster[0]"
    ]
    return found


def security_group(stack, role: str) -> str:
    (group,) = client(stack, "ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{NAME}-dagster-{role}"]}]
    )["SecurityGroups"]
    return group["GroupId"]


def rules(stack, group_id: str) -> list[dict]:
    found = client(stack, "ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    return found["SecurityGroupRules"]


def test_security_groups_let_in_only_their_peers(stack):
    ec2 = client(stack, "ec2")
    groups = {
        g["GroupName"].removeprefix(f"{NAME}-dagster-"): g["GroupId"]
        for g in ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{NAME}-dagster-*"]}])[
            "SecurityGroups"
        ]
    }
    assert set(groups) == {"alb", "webserver", "daemon", "code-server", "run", "db"}

    def ingress(name):
        return sorted(
            (r["FromPort"], r["ToPort"], r.get("CidrIpv4") or r["ReferencedGroupInfo"]["GroupId"])
            for r in rules(stack, groups[name])
            if not r["IsEgress"]
        )

    assert ingress("alb") == [
        (80, 80, "10.0.0.0/8")
    ]  # the default allowed CIDRs of envs/dev; no HTTPS without a certificate
    assert ingress("webserver") == [(3000, 3000, groups["alb"])]
    assert ingress("code-server") == sorted((4000, 4000, groups[g]) for g in ("webserver", "daemon", "run"))
    assert ingress("db") == sorted((5432, 5432, groups[g]) for g in ("webserver", "daemon", "code-server", "run"))
    assert ingress("daemon") == [] and ingress("run") == []
    assert out(stack, "dagster_run_launcher")["security_group"] == groups["run"]
    for name in ("webserver", "daemon", "code-server", "run"):
        egress = [r for r in rules(stack, groups[name]) if r["IsEgress"]]
        assert all(r["IpProtocol"] == "tcp" for r in egress), name  # no all-ports, all-protocols rule
        assert {r["FromPort"] for r in egress if r.get("CidrIpv4") == "0.0.0.0/0"} == {443}, name


def test_repository_cluster_logs_and_load_balancer(stack):
    ecr = client(stack, "ecr")
    (repo,) = ecr.describe_repositories(repositoryNames=[f"{NAME}-dagster"])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": out(stack, "kms_key_arn")}
    lifecycle = json.loads(ecr.get_lifecycle_policy(repositoryName=f"{NAME}-dagster")["lifecyclePolicyText"])
    assert [r["selection"]["countNumber"] for r in lifecycle["rules"]] == [1, 30]
    (cluster,) = client(stack, "ecs").describe_clusters(
        clusters=[out(stack, "dagster_cluster_name")], include=["SETTINGS"]
    )["clusters"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    (group,) = client(stack, "logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{NAME}-dagster")["logGroups"]
    assert group["retentionInDays"] == 365 and group["kmsKeyId"] == out(stack, "kms_key_arn")
    elb = client(stack, "elbv2")
    (lb,) = elb.describe_load_balancers(Names=[f"{NAME}-dagster"])["LoadBalancers"]
    assert lb["Type"] == "application" and set(lb["SecurityGroups"]) == {security_group(stack, "alb")}
    # moto returns no Scheme; the state has what the provider asked for: internal, since the default CIDRs (10.0.0.0/8)
    # are private (reached over a VPN into the VPC), in the private subnets.
    assert state_attributes(stack, "aws_lb", "this")["internal"] is True and out(stack, "dagster_ui_internal") is True
    assert {a["SubnetId"] for a in lb["AvailabilityZones"]} == set(out(stack, "dagster_run_launcher")["subnets"])
    assert out(stack, "dagster_ui_url") == f"http://{lb['DNSName']}"
    attributes = {
        a["Key"]: a["Value"]
        for a in elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    }
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true" and attributes["access_logs.s3.bucket"] == out(
        stack, "access_log_bucket"
    )
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 80 and listener["DefaultActions"][0]["Type"] == "forward"


# ---------------------------------------------------------------------------------------------------------------------
# The run launcher of the production instance (infra/dagster/dagster-ecs.yaml), configured as the daemon's task is
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def ecs_instance(stack, tmp_path, monkeypatch):
    """A Dagster instance with dagster-ecs.yaml's run launcher, run monitoring and run retries, in the environment
    ECS gives the daemon's container (its task definition's, read back from moto); storage is SQLite here instead of
    RDS (no PostgreSQL in moto), and the run coordinator launches at once instead of queueing (no daemon loop)."""
    from dagster._core.test_utils import instance_for_test

    from favorita_assets.aws.daemon import instance_config

    daemon_environment = environment(task_definition(stack, f"{NAME}-daemon"))
    for name, value in daemon_environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.url)
    monkeypatch.setenv("FAVORITA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FAVORITA_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("FAVORITA_DEPLOYMENT", "local")  # the definitions load without reaching AWS; the launcher does
    monkeypatch.delenv("FAVORITA_MODEL_BACKEND", raising=False)  # an aws-mode setting, refused by the local deployment
    production = instance_config(ECS_INSTANCE.read_text(), daemon_environment)  # as the daemon's task starts
    overrides = {key: production[key] for key in ("run_launcher", "run_monitoring", "run_retries")}
    overrides["run_coordinator"] = {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"}
    (tmp_path / "home").mkdir()
    with instance_for_test(overrides=overrides, temp_dir=str(tmp_path / "home")) as instance:
        calls = []
        launcher = instance.run_launcher
        launcher.ecs.meta.events.register("provide-client-params.ecs.RunTask", lambda params, **_: calls.append(params))
        instance.run_task_calls = calls
        yield instance


@pytest.fixture
def workspace(stack, ecs_instance):
    """The code location in this process, reporting the image the code server's task definition names (as the code
    server does on ECS, from DAGSTER_CURRENT_IMAGE)."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

    image = environment(task_definition(stack, f"{NAME}-code-server"))["DAGSTER_CURRENT_IMAGE"]
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable, module_name="favorita_assets.definitions", working_directory=str(REPO)
        ),
        container_image=image,
        location_name="favorita",
    )
    with WorkspaceProcessContext(ecs_instance, InProcessWorkspaceLoadTarget(origin)) as context:
        yield context


def launch(instance, context, job: str, tags: dict[str, str] | None = None):
    """Create a run of ``job`` from the code location and launch it, as the daemon does when it dequeues one."""
    from dagster._core.test_utils import create_run_for_test

    request = context.create_request_context()
    (entry,) = request.get_code_location_entries().values()
    remote = entry.code_location.get_repository("__repository__").get_full_job(job)
    plan = entry.code_location.get_execution_plan(
        remote_job=remote, run_config={}, step_keys_to_execute=None, known_state=None, instance=instance
    )
    run = create_run_for_test(
        instance,
        job_name=job,
        tags=tags or {},
        remote_job_origin=remote.get_remote_origin(),
        job_code_origin=remote.get_python_origin(),
        job_snapshot=remote.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        asset_graph=request.asset_graph,
    )
    instance.launch_run(run.run_id, request)
    return instance.get_run_by_id(run.run_id)


def test_each_run_is_a_task_of_the_run_definition_in_the_cluster_subnets_and_group_from_terraform(
    stack, ecs_instance, workspace
):
    from favorita_assets.aws.ecs import FavoritaEcsRunLauncher

    launcher_outputs = out(stack, "dagster_run_launcher")
    assert isinstance(ecs_instance.run_launcher, FavoritaEcsRunLauncher)
    run = launch(ecs_instance, workspace, "refresh_data", {"favorita/month": "2017-07"})
    (call,) = ecs_instance.run_task_calls
    run_definition = task_definition(stack, launcher_outputs["task_definition"])
    assert call["cluster"] == launcher_outputs["cluster"] == out(stack, "dagster_cluster_name")
    assert call["taskDefinition"] == run_definition["taskDefinitionArn"]  # reused: Terraform registered it
    assert call["launchType"] == "FARGATE"
    assert call["networkConfiguration"] == {
        "awsvpcConfiguration": {
            "subnets": launcher_outputs["subnets"],
            "securityGroups": [launcher_outputs["security_group"]],
            "assignPublicIp": "DISABLED",
        }
    }
    (override,) = call["overrides"]["containerOverrides"]
    assert override["name"] == "run" and override["command"][:3] == ["dagster", "api", "execute_run"]
    tags = {t["key"]: t["value"] for t in call["tags"]}
    assert tags["dagster/run_id"] == run.run_id and tags["favorita/month"] == "2017-07"
    # What moto recorded: the task, of the run definition, whose role is the Terraform run role.
    ecs = client(stack, "ecs")
    (task,) = ecs.describe_tasks(cluster=call["cluster"], tasks=[run.tags["ecs/task_arn"]])["tasks"]
    assert task["taskDefinitionArn"] == run_definition["taskDefinitionArn"]
    assert run_definition["taskRoleArn"] == launcher_outputs["task_role_arn"]
    assert task["taskArn"].startswith(
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{NAME}-dagster/"
    )  # what the daemon's IAM allows
    assert ecs.list_task_definitions(familyPrefix=f"{NAME}-run")["taskDefinitionArns"] == [
        run_definition["taskDefinitionArn"]
    ]


def test_a_run_resized_by_its_tags_gets_that_fargate_size_and_a_wrong_pair_fails_with_the_pairs_allowed(
    stack, ecs_instance, workspace
):
    launch(
        ecs_instance,
        workspace,
        "favorita_pipeline",
        {"dagster/partition": "2017-07", "ecs/cpu": "4096", "ecs/memory": "16384"},
    )
    (call,) = ecs_instance.run_task_calls
    assert call["overrides"]["cpu"] == "4096" and call["overrides"]["memory"] == "16384"
    with pytest.raises(Exception) as refused:
        launch(
            ecs_instance,
            workspace,
            "favorita_pipeline",
            {"dagster/partition": "2017-07", "ecs/cpu": "4096", "ecs/memory": "4096"},
        )
    assert "memory=4096 does not go with cpu=4096 on Fargate" in str(refused.value)
    assert "8192-30720 MiB in steps of 1024" in str(refused.value)
    assert len(ecs_instance.run_task_calls) == 1  # ECS was not asked


def _moto_task(stack, task_arn: str):
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[ACCOUNT][REGION]
    return backend.tasks[out(stack, "dagster_cluster_name")][task_arn]


@pytest.mark.parametrize("never_starts", ["stays PENDING", "stops before the run starts"])
def test_a_task_that_never_starts_fails_at_the_start_timeout_and_the_run_is_retried_once(
    stack, ecs_instance, workspace, monkeypatch, never_starts
):
    import logging

    from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
    from dagster._daemon.auto_run_reexecution.auto_run_reexecution import consume_new_runs_for_automatic_reexecution
    from dagster._daemon.monitoring import run_monitoring

    # Terraform's run_start_timeout_seconds (600 by default), through the daemon's environment.
    assert ecs_instance.run_monitoring_start_timeout_seconds == 600 and ecs_instance.run_retries_max_retries == 1
    run = launch(ecs_instance, workspace, "refresh_data")
    assert run.status == DagsterRunStatus.STARTING
    task = _moto_task(stack, run.tags["ecs/task_arn"])
    if never_starts == "stays PENDING":
        task.status = "PENDING"  # moto starts every task RUNNING; ECS can leave one PENDING for good
    else:
        task.status, task.desired_status = "STOPPED", "STOPPED"
        task.stopped_reason = "Timeout waiting for network interface provisioning to complete."
    logger = logging.getLogger("run_monitoring")

    def monitor(after_seconds: float) -> None:
        clock = time.time() + after_seconds
        monkeypatch.setattr(run_monitoring, "get_current_timestamp", lambda: clock)
        for _ in run_monitoring.execute_run_monitoring_iteration(workspace, logger):
            pass

    monitor(181)  # within the start timeout (a multi-GB image still pulling): left alone
    assert ecs_instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTING
    monitor(601)
    failed = ecs_instance.get_run_by_id(run.run_id)
    assert failed.status == DagsterRunStatus.FAILURE
    (failure,) = [
        e
        for e in ecs_instance.all_logs(run.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE"
    ]
    assert "longer than 600 seconds to start" in failure.dagster_event.message

    def retry_pass():
        records = ecs_instance.get_run_records(filters=RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
        list(consume_new_runs_for_automatic_reexecution(workspace, records, logger))

    retry_pass()
    retries = [r for r in ecs_instance.get_runs() if r.parent_run_id == run.run_id]
    assert len(retries) == 1 and retries[0].tags["dagster/retry_number"] == "1"
    assert len(ecs_instance.run_task_calls) == 2  # the retry is a new task
    # The retry never starts either: it fails the same way and is not retried again (max_retries: 1).
    _moto_task(stack, ecs_instance.get_run_by_id(retries[0].run_id).tags["ecs/task_arn"]).status = "PENDING"
    monitor(601)
    assert ecs_instance.get_run_by_id(retries[0].run_id).status == DagsterRunStatus.FAILURE
    retry_pass()
    assert len(ecs_instance.get_runs()) == 2 and len(ecs_instance.run_task_calls) == 2


# ---------------------------------------------------------------------------------------------------------------------
# Deploy, plan, destroy
# ---------------------------------------------------------------------------------------------------------------------


WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def deploy_step(name: str) -> str:
    """The ``run`` script of the deploy job's step whose name starts with ``name``, as the workflow has it."""
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["deploy"]["steps"]
    (script,) = [s["run"] for s in steps if s.get("name", "").startswith(name)]
    return script


def environment_settings(stack, extra: str = "") -> str:
    """The environment's .tfvars, as the production environment's TF_VARS variable would hold it: the stack's
    variables (and ``extra`` lines)."""
    lines = []
    for pair in stack.vars[1::2]:  # "-var", "k=v", ... -> the k=v
        name, value = pair.split("=", 1)
        lines.append(f"{name} = {value if value in ('true', 'false') else json.dumps(value)}")
    return "\n".join(lines + ([extra] if extra else []))


def run_step(stack, script: str, sha: str, settings: str | None = None, allow: str = "") -> subprocess.CompletedProcess:
    """Run a step of the workflow's deploy job as the runner would: bash, from a checkout (here: the Terraform copy
    the stack was applied from, as infra/terraform), with IMAGE_SHA, TF_ROOT and the var-file of the job (written
    from ``settings``, by default the stack's variables) and boto3 sent to moto. ``allow``: the addresses moto always
    plans a change to (what it does not return, see NOT_RETURNED_BY_MOTO), let through as a reviewer would."""
    checkout = stack.tf.tree.parent / "checkout"
    (checkout / "infra").mkdir(parents=True, exist_ok=True)
    for name, target in (("terraform", stack.tf.tree), ("deploy", REPO / "infra" / "deploy")):
        if not (checkout / "infra" / name).exists():
            (checkout / "infra" / name).symlink_to(target)
    (checkout / "environment.tfvars").write_text(environment_settings(stack) if settings is None else settings)
    env = {
        **stack.tf.env,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": stack.url,
        "IMAGE_SHA": sha,
        "TF_ROOT": "infra/terraform/envs/dev",
        "TF_VAR_FILE": "environment.tfvars",
        "FAVORITA_DEPLOY_ALLOW_CHANGES": allow,
        "TERRAFORM": stack.tf.binary,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script], cwd=checkout, env=env, capture_output=True, text=True, timeout=900
    )


def push(stack, sha: str) -> None:
    """What `docker push` leaves in ECR: an image manifest under the tag (moto takes no layer uploads)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": "sha256:" + sha.ljust(64, "0")[:64],
        },
        "layers": [],
    }
    client(stack, "ecr").put_image(repositoryName=f"{NAME}-dagster", imageManifest=json.dumps(manifest), imageTag=sha)


def service_images(stack) -> dict[str, tuple[int, str]]:
    ecs = client(stack, "ecs")
    found = {}
    for role, service in services(stack).items():
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        found[role] = (definition["revision"], container(definition)["image"])
    return found


def moto_drift(stack, tmp_path) -> str:
    """The addresses a plan of the unchanged stack changes on moto (what moto does not return or returns otherwise,
    NOT_RETURNED_BY_MOTO and infra.terraform.emulator_quirk), space-separated."""
    plan = plan_json(stack, tmp_path, *stack.vars)
    changed = [c["address"] for c in plan["resource_changes"] if c["change"]["actions"] not in (["no-op"], ["read"])]
    return " ".join(sorted(changed))


def test_the_workflows_deploy_moves_the_three_services_to_a_new_sha_and_a_rollback_back_to_the_earlier_image(
    stack, tmp_path
):
    repository = out(stack, "dagster_ecr_repository_url")
    earlier, new = "bootstrap", "a" * 40  # the image the stack was applied with, and a merged commit's
    before = service_images(stack)
    assert {image for _, image in before.values()} == {f"{repository}:{earlier}"}

    refused = run_step(stack, deploy_step("Deploy"), new)
    assert refused.returncode != 0 and f"{repository}:{new} is not in ECR: build and push it first" in refused.stderr
    present = run_step(
        stack, 'python infra/deploy/deploy_dagster.py image-present --root "$TF_ROOT" --image-tag "$IMAGE_SHA"', new
    )
    assert present.returncode == 1 and present.stdout.strip() == "absent"  # so the job builds and pushes it
    assert "image-present" in deploy_step("Build and push")

    push(stack, new)
    # A var-file that lacks a setting the environment has (here: one that adds an alert e-mail) is refused whole.
    changed = environment_settings(stack, 'alert_emails = ["ops@example.com"]')
    refused = run_step(stack, deploy_step("Deploy"), new, settings=changed, allow=moto_drift(stack, tmp_path))
    assert refused.returncode != 0 and f"refusing to deploy {new}" in refused.stderr, refused.stderr[-3000:]
    assert "aws_sns_topic_subscription" in refused.stderr and "Nothing was applied" in refused.stderr
    assert service_images(stack) == before

    deployed = run_step(stack, deploy_step("Deploy"), new, allow=moto_drift(stack, tmp_path))
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    after = service_images(stack)
    assert {image for _, image in after.values()} == {f"{repository}:{new}"}, after
    assert all(after[role][0] > before[role][0] for role in after)  # new revisions
    assert len(deployed.stdout.strip().splitlines()) == 3 and deployed.stdout.count("running 1/1") == 3
    assert container(task_definition(stack, f"{NAME}-run"))["image"] == f"{repository}:{new}"  # runs start from it too
    assert environment(task_definition(stack, f"{NAME}-code-server"))["DAGSTER_CURRENT_IMAGE"] == f"{repository}:{new}"

    push(stack, earlier)  # (moto's ECR starts empty: the stack's first image was never pushed there)
    rolled_back = run_step(
        stack, deploy_step("Deploy"), earlier, allow=moto_drift(stack, tmp_path)
    )  # rollback: a deploy of the earlier image
    assert rolled_back.returncode == 0, rolled_back.stderr[-3000:]
    restored = service_images(stack)
    assert {image for _, image in restored.values()} == {f"{repository}:{earlier}"}
    assert all(restored[role][0] > after[role][0] for role in restored)  # registered again, as a newer revision


# What moto 5.2 does not store or return for these resources, so a plan right after apply sets them again. Each
# counts as moto's only where moto returned nothing at all; a value that differs is a real change and fails the test.
NOT_RETURNED_BY_MOTO = {
    "aws_db_instance": {
        "performance_insights_enabled",
        "performance_insights_kms_key_id",
        "performance_insights_retention_period",
    },  # moto's RDS has no Performance Insights
    "aws_db_parameter_group": {"parameter"},  # the provider's filtered DescribeDBParameters gets none back
    "aws_ecs_service": {
        "availability_zone_rebalancing",
        "enable_ecs_managed_tags",
        "health_check_grace_period_seconds",
    },
    "aws_vpc_security_group_ingress_rule": {"description"},  # moto drops the description of a rule naming a group
    "aws_vpc_security_group_egress_rule": {"description"},
}


def test_a_second_plan_changes_nothing(stack, tmp_path):
    plan = plan_json(stack, tmp_path, *stack.vars)
    by_address = {c["address"]: c for c in plan["resource_changes"]}
    real = []
    for address, attribute in planned_changes(plan):
        change = by_address[address]
        before = (change["change"]["before"] or {}).get(attribute)
        if attribute in NOT_RETURNED_BY_MOTO.get(change["type"], ()) and before in (None, "", [], 0, False):
            continue
        real.append((address, attribute, before, (change["change"]["after"] or {}).get(attribute)))
    assert real == []


def test_destroy_removes_dagsters_hosting(stack):
    assert NOT_DELETABLE_IN_MOTO
    started = time.monotonic()
    destroy(stack)
    print(f"\nhosting: destroy {time.monotonic() - started:.0f}s")
    ecs = client(stack, "ecs")
    clusters = ecs.list_clusters()["clusterArns"]  # a deleted cluster stays listed, INACTIVE, for a while (as on AWS)
    statuses = [c["status"] for c in ecs.describe_clusters(clusters=clusters)["clusters"]] if clusters else []
    assert set(statuses) <= {"INACTIVE"}
    assert ecs.list_task_definitions(familyPrefix=NAME, status="ACTIVE")["taskDefinitionArns"] == []
    assert client(stack, "rds").describe_db_instances()["DBInstances"] == []
    assert client(stack, "elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert client(stack, "ecr").describe_repositories()["repositories"] == []
    assert (
        client(stack, "ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{NAME}-dagster"]}])["Vpcs"] == []
    )
