"""infra/deploy/deploy_dagster.py without AWS: terraform is a script that answers as terraform would (and records what
it was asked), boto3's ECR and ECS clients are botocore Stubbers. The deploy takes the environment's settings from a
var-file, refuses a plan that changes more than the image, and fails, naming the service, when ECS rolled a
deployment back."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import subprocess
import sys

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from infra.terraform import REPO

REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/favorita-dev-dagster"
CLUSTER = "favorita-dev-dagster"
SERVICES = {"webserver": "favorita-dev-dagster-webserver", "daemon": "favorita-dev-dagster-daemon"}
SERVICES["code_server"] = "favorita-dev-dagster-code-server"
NEW, OLD = "b" * 40, "a" * 40


@pytest.fixture(scope="module")
def deploy_module():
    spec = importlib.util.spec_from_file_location("deploy_dagster", REPO / "infra" / "deploy" / "deploy_dagster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def change(address: str, kind: str, actions: list[str]) -> dict:
    return {"address": address, "type": kind, "change": {"actions": actions}}


IMAGE_ONLY = [
    change(
        'module.dagster[0].aws_ecs_task_definition.this["webserver"]', "aws_ecs_task_definition", ["create", "delete"]
    ),
    change('module.dagster[0].aws_ecs_service.this["webserver"]', "aws_ecs_service", ["update"]),
    change("module.platform.aws_s3_bucket.raw", "aws_s3_bucket", ["no-op"]),
]
RESETS_A_SETTING = IMAGE_ONLY + [
    change(
        'module.platform.module.etl.aws_sns_topic_subscription.email["ops@example.com"]',
        "aws_sns_topic_subscription",
        ["delete"],
    ),
    change('module.dagster[0].aws_vpc_security_group_ingress_rule.alb_http["10.0.0.0/8"]', "x", ["create"]),
]


@pytest.fixture
def fake_terraform(tmp_path, monkeypatch):
    """A terraform on PATH that answers `output -json`, `plan` (exit 2, a plan file) and `show -json` from files, and
    logs every call to calls.log."""

    def make(plan_changes: list[dict]):
        (tmp_path / "outputs.json").write_text(
            json.dumps(
                {
                    "dagster_cluster_name": {"value": CLUSTER},
                    "dagster_ecr_repository_url": {"value": REPOSITORY},
                    "dagster_service_names": {"value": SERVICES},
                    "region": {"value": "eu-west-1"},
                }
            )
        )
        (tmp_path / "plan.json").write_text(json.dumps({"resource_changes": plan_changes}))
        script = tmp_path / "terraform"
        script.write_text(
            f"""#!{sys.executable}
import sys, pathlib
here = pathlib.Path({str(tmp_path)!r})
args = sys.argv[2:]
with open(here / "calls.log", "a") as log:
    log.write(" ".join(args) + "\\n")
if args[0] == "output":
    print((here / "outputs.json").read_text())
elif args[0] == "plan":
    out = [a for a in args if a.startswith("-out=")][0][5:]
    pathlib.Path(out).write_text("binary plan")
    sys.exit(2)
elif args[0] == "show":
    print((here / "plan.json").read_text())
"""
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("TERRAFORM", str(script))
        root = tmp_path / "root"
        root.mkdir(exist_ok=True)
        var_file = tmp_path / "dev.tfvars"
        var_file.write_text('model_backend = "amazon-forecast"\nalert_emails = ["ops@example.com"]\n')
        return str(root), str(var_file), tmp_path / "calls.log"

    return make


def stubbed_clients(monkeypatch, deploy_module, services_after: list[dict] | None, images: dict[str, str]):
    """boto3.client in the deploy script: ECR has the new tag; ECS answers the waiter and the check with
    ``services_after`` (task definition ARN -> image in ``images``)."""
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    ecs = boto3.client("ecs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    ecr_stub, ecs_stub = Stubber(ecr), Stubber(ecs)
    ecr_stub.add_response(
        "describe_images",
        {"imageDetails": [{"imageTags": [NEW]}]},
        {"repositoryName": REPOSITORY.split("/", 1)[1], "imageIds": [{"imageTag": NEW}]},
    )
    if services_after is not None:
        ecs_stub.add_response("describe_services", {"services": services_after})  # the waiter
        for _ in range(2):  # the check, then the summary printed at the end
            ecs_stub.add_response("describe_services", {"services": services_after})
            for service in services_after:
                definition = {
                    "taskDefinitionArn": service["taskDefinition"],
                    "containerDefinitions": [{"name": "c", "image": images[service["taskDefinition"]]}],
                }
                ecs_stub.add_response("describe_task_definition", {"taskDefinition": definition})
    ecr_stub.activate()
    ecs_stub.activate()
    monkeypatch.setattr(deploy_module.boto3, "client", lambda name, **_: {"ecr": ecr, "ecs": ecs}[name])
    return ecs_stub


def service(role: str, revision: int, rollout: str, reason: str = "") -> dict:
    arn = f"arn:aws:ecs:eu-west-1:123456789012:task-definition/favorita-dev-{role}:{revision}"
    return {
        "serviceName": SERVICES[role],
        "taskDefinition": arn,
        "desiredCount": 1,
        "runningCount": 1,
        "status": "ACTIVE",
        "deployments": [
            {
                "status": "PRIMARY",
                "taskDefinition": arn,
                "rolloutState": rollout,
                "rolloutStateReason": reason,
                "desiredCount": 1,
                "runningCount": 1,
            }
        ],
    }


def test_a_deploy_without_the_environments_var_file_is_refused(deploy_module, capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        deploy_module.main(["deploy", "--root", str(tmp_path), "--image-tag", NEW])
    assert exited.value.code == 2 and "deploy needs --var-file" in capsys.readouterr().err
    with pytest.raises(SystemExit, match=r"nowhere.tfvars: no such var-file"):
        deploy_module.main(["deploy", "--root", str(tmp_path), "--image-tag", NEW, "--var-file", "nowhere.tfvars"])
    pinned = tmp_path / "pinned.tfvars"
    pinned.write_text('model_backend = "lightgbm"\ndagster_image_tag = "abc"\n')
    with pytest.raises(SystemExit, match=r"pinned.tfvars, line 2: sets dagster_image_tag"):
        deploy_module.main(["deploy", "--root", str(tmp_path), "--image-tag", NEW, "--var-file", str(pinned)])


def test_a_plan_that_would_reset_a_setting_is_refused_and_nothing_is_applied(
    deploy_module, fake_terraform, monkeypatch
):
    root, var_file, calls = fake_terraform(RESETS_A_SETTING)
    stubbed_clients(monkeypatch, deploy_module, None, {})
    with pytest.raises(SystemExit) as refused:
        deploy_module.main(["deploy", "--root", root, "--image-tag", NEW, "--var-file", var_file])
    message = str(refused.value.code)
    assert f"refusing to deploy {NEW}" in message and "Nothing was applied" in message
    assert 'aws_sns_topic_subscription.email["ops@example.com"] (delete)' in message
    assert 'alb_http["10.0.0.0/8"] (create)' in message
    assert "aws_ecs_service" not in message and "aws_s3_bucket" not in message
    logged = calls.read_text().splitlines()
    (plan,) = [line for line in logged if line.startswith("plan")]
    assert f"-var-file={var_file}" in plan and "-detailed-exitcode" in plan and f"-var=dagster_image_tag={NEW}" in plan
    assert not [line for line in logged if line.startswith("apply")]
    assert not list((calls.parent / "root").glob("*.tfplan"))  # the refused plan is not left behind
    # A reviewed change goes through when its addresses are listed.
    allowed = {c["address"] for c in RESETS_A_SETTING if c not in IMAGE_ONLY}
    assert deploy_module.changes_beyond_the_image({"resource_changes": RESETS_A_SETTING}, allowed) == []


def test_a_deployment_rolled_back_by_the_circuit_breaker_fails_the_deploy_naming_the_service(
    deploy_module, fake_terraform, monkeypatch, capsys
):
    root, var_file, calls = fake_terraform(IMAGE_ONLY)
    after = [service("webserver", 8, "COMPLETED"), service("daemon", 8, "COMPLETED")]
    # The code server's new tasks kept failing: ECS rolled it back to revision 7 (the old image), stable again.
    after.append(service("code_server", 7, "COMPLETED", "ECS deployment circuit breaker: rolled back"))
    images = {s["taskDefinition"]: f"{REPOSITORY}:{NEW}" for s in after[:2]}
    images[after[2]["taskDefinition"]] = f"{REPOSITORY}:{OLD}"
    stubbed_clients(monkeypatch, deploy_module, after, images)
    with pytest.raises(SystemExit) as failed:
        deploy_module.main(
            ["deploy", "--root", root, "--image-tag", NEW, "--var-file", var_file, "--wait-seconds", "15"]
        )
    message = str(failed.value.code)
    assert message.startswith("the deploy did not take: favorita-dev-dagster-code-server runs")
    assert f"{REPOSITORY}:{OLD}, not {REPOSITORY}:{NEW}" in message and "circuit breaker: rolled back" in message
    assert "webserver" not in message and "daemon" not in message
    (apply,) = [line for line in calls.read_text().splitlines() if line.startswith("apply")]
    assert apply.endswith(f"deploy-{NEW}.tfplan")  # exactly the plan that was checked


def test_a_deployment_still_in_progress_is_not_reported_as_done(deploy_module):
    ecs = boto3.client("ecs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(ecs)
    stub.add_response("describe_services", {"services": [service("daemon", 9, "IN_PROGRESS")]})
    stub.add_response(
        "describe_task_definition",
        {"taskDefinition": {"containerDefinitions": [{"name": "c", "image": f"{REPOSITORY}:{NEW}"}]}},
    )
    with stub:
        problems = deploy_module.deployment_problems(ecs, CLUSTER, [SERVICES["daemon"]], f"{REPOSITORY}:{NEW}")
    assert problems == [
        f"favorita-dev-dagster-daemon: its deployment of {REPOSITORY}:{NEW} is IN_PROGRESS, not COMPLETED"
    ]


def deploy_steps() -> dict[str, dict]:
    job = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())["jobs"]["deploy"]
    return job, {step.get("name", "").split(" ")[0]: step for step in job["steps"]}


def test_the_workflow_deploys_with_the_environments_var_file_and_refuses_to_run_without_it(tmp_path):
    job, steps = deploy_steps()
    assert '--var-file "$TF_VAR_FILE"' in steps["Deploy"]["run"] and job["env"]["TF_VAR_FILE"]
    settings = steps["The"]
    assert settings["env"]["TF_VARS"] == "${{ vars.TF_VARS }}"
    env = {"PATH": os.environ["PATH"], "TF_VAR_FILE": str(tmp_path / "env.tfvars")}
    empty = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", settings["run"]], env={**env, "TF_VARS": ""}, text=True, capture_output=True
    )
    assert empty.returncode == 1 and "has no TF_VARS variable" in empty.stdout
    given = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", settings["run"]],
        env={**env, "TF_VARS": 'model_backend = "lightgbm"'},
        text=True,
    )
    assert given.returncode == 0 and (tmp_path / "env.tfvars").read_text() == 'model_backend = "lightgbm"\n'


def test_the_workflow_pushes_the_runtime_stage_not_the_selftest_stage():
    _, steps = deploy_steps()
    (build,) = [line for line in steps["Build"]["run"].splitlines() if "docker build" in line]
    stages = re.findall(r"^FROM \S+ AS (\w+)$", (REPO / "Dockerfile").read_text(), flags=re.M)
    assert "--target runtime" in build.split() or "--target runtime" in build
    assert "runtime" in stages and stages[-1] != "runtime"  # without --target, docker builds the last stage
