"""Deploy the Dagster code location to ECS: the steps of the CI workflow's deploy job, runnable by hand.

    python infra/deploy/deploy_dagster.py image-present --root infra/terraform/envs/dev --image-tag SHA
        exit 0 when <repository>:SHA is already in ECR (tags are immutable: it is never pushed twice), 1 when not
    python infra/deploy/deploy_dagster.py deploy --root infra/terraform/envs/dev --var-file dev.tfvars --image-tag SHA
        refuses a tag that is not in ECR; plans with the environment's settings (the var-file) and dagster_image_tag=SHA
        and refuses the plan when it changes anything but the task definitions and the services (a setting missing
        from the var-file would otherwise be reset to its default: apply such changes by hand, after review); applies
        that plan (new task-definition revisions for the webserver, daemon, code server and runs, and the three
        services moved to them); waits until ECS reports the three services stable; then checks that each one runs
        the new image and that its deployment completed (ECS's circuit breaker rolls a failing deployment back to the
        old image, which is stable too), and exits 1 naming the services that did not; prints what each one runs

A rollback is a deploy of an earlier SHA (its image is still in ECR: the repository keeps the newest 30).

FAVORITA_DEPLOY_ALLOW_CHANGES (resource addresses, separated by spaces) lets a deploy also apply the changes planned
for those resources, once someone has reviewed them.

Needs terraform and boto3 only (not the project), with AWS credentials in the environment; AWS_ENDPOINT_URL points
boto3 at an emulator in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import boto3
from botocore.exceptions import ClientError, WaiterError

ROLES = ("webserver", "daemon", "code_server")
# What a new image changes: the task definitions (replaced by new revisions) and the services (moved to them).
IMAGE_RESOURCE_TYPES = ("aws_ecs_task_definition", "aws_ecs_service")


def terraform(root: str, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [os.environ.get("TERRAFORM", "terraform"), f"-chdir={root}", *args],
        text=True,
        capture_output=True,
    )
    if result.returncode not in ok:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"terraform {args[0]} in {root} failed (exit {result.returncode})")
    return result


def outputs(root: str) -> dict:
    found = {name: spec["value"] for name, spec in json.loads(terraform(root, "output", "-json").stdout).items()}
    if not found.get("dagster_cluster_name"):
        raise SystemExit(
            f"{root} has no Dagster hosting (dagster_cluster_name is empty): apply it with dagster_hosting=true first"
        )
    return found


def region(found: dict) -> str:
    return found.get("region") or os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"]


def image_present(found: dict, tag: str) -> bool:
    repository = found["dagster_ecr_repository_url"].split("/", 1)[1]
    ecr = boto3.client("ecr", region_name=region(found))
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as error:
        if error.response["Error"]["Code"] == "ImageNotFoundException":
            return False
        raise
    return True


def var_file_path(path: str) -> str:
    """The var-file as an absolute path (terraform runs in the root), refused when absent or when it sets the image."""
    absolute = os.path.abspath(path)
    if not os.path.isfile(absolute):
        raise SystemExit(
            f"{path}: no such var-file. A deploy needs the environment's settings (model_backend, alert_emails, the "
            "UI's CIDRs and certificate, ...): write them to a .tfvars file (see the AWS guide) and pass it"
        )
    with open(absolute, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.split("=", 1)[0].strip() == "dagster_image_tag":
                raise SystemExit(
                    f"{path}, line {number}: sets dagster_image_tag; the deploy sets it from --image-tag: "
                    "remove the line"
                )
    return absolute


def changes_beyond_the_image(plan: dict, allowed: set[str]) -> list[str]:
    """'address (actions)' of every planned change that is not a task definition or service, nor in ``allowed``."""
    found = []
    for change in plan.get("resource_changes", []):
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]) or change["type"] in IMAGE_RESOURCE_TYPES or change["address"] in allowed:
            continue
        found.append(f"{change['address']} ({'/'.join(actions)})")
    return found


def plan_image_only(root: str, tag: str, var_file: str) -> str | None:
    """Plan the deploy; the plan file to apply, None when nothing changes. Exits when the plan changes more."""
    plan_file = os.path.join(os.path.abspath(root), f"deploy-{tag}.tfplan")
    planned = terraform(
        root,
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        f"-var-file={var_file}",
        f"-var=dagster_image_tag={tag}",
        f"-out={plan_file}",
        ok=(0, 2),
    )
    if planned.returncode == 0:
        os.remove(plan_file)
        return None
    plan = json.loads(terraform(root, "show", "-json", plan_file).stdout)
    allowed = set(os.environ.get("FAVORITA_DEPLOY_ALLOW_CHANGES", "").split())
    beyond = changes_beyond_the_image(plan, allowed)
    if beyond:
        os.remove(plan_file)
        raise SystemExit(
            f"refusing to deploy {tag}: with {var_file} the plan also changes\n  "
            + "\n  ".join(beyond)
            + f"\nA deploy changes only the image. If {var_file} lacks a setting, add it; if the change is wanted, "
            "review it and apply it by hand (terraform apply -var-file=...), or list the addresses in "
            "FAVORITA_DEPLOY_ALLOW_CHANGES for this deploy. Nothing was applied."
        )
    return plan_file


def deployment_problems(ecs, cluster: str, names: list[str], image: str) -> list[str]:
    """Why each service does not run ``image`` after a deploy: the circuit breaker rolled it back to the old task
    definition (which is stable too), or its primary deployment did not complete."""
    problems = []
    for service in ecs.describe_services(cluster=cluster, services=names)["services"]:
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        images = sorted({c["image"] for c in definition["containerDefinitions"]})
        primary = [d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"]
        state = primary[0].get("rolloutState", "unknown") if primary else "no primary deployment"
        name = service["serviceName"]
        if images != [image]:
            problems.append(
                f"{name} runs {', '.join(images)}, not {image}: its deployment was rolled back "
                f"({primary[0].get('rolloutStateReason', state) if primary else state})"
            )
        elif state != "COMPLETED":
            problems.append(f"{name}: its deployment of {image} is {state}, not COMPLETED")
    return problems


def deploy(root: str, tag: str, wait_seconds: int, var_file: str) -> None:
    var_file = var_file_path(var_file)
    before = outputs(root)
    if not image_present(before, tag):
        raise SystemExit(
            f"{before['dagster_ecr_repository_url']}:{tag} is not in ECR: build and push it first "
            "(the deploy job does), or pick a SHA that was deployed before"
        )
    plan_file = plan_image_only(root, tag, var_file)
    if plan_file is not None:
        try:
            terraform(root, "apply", "-input=false", "-no-color", plan_file)
        finally:
            os.remove(plan_file)
    found = outputs(root)
    ecs = boto3.client("ecs", region_name=region(found))
    cluster, names = found["dagster_cluster_name"], [found["dagster_service_names"][role] for role in ROLES]
    try:
        ecs.get_waiter("services_stable").wait(
            cluster=cluster, services=names, WaiterConfig={"Delay": 15, "MaxAttempts": max(1, wait_seconds // 15)}
        )
    except WaiterError as error:
        raise SystemExit(
            f"the services of {cluster} were not stable after {wait_seconds}s ({error}); the deployment "
            "circuit breaker rolls a failing one back: see `aws ecs describe-services` and the log group"
        ) from error
    image = f"{found['dagster_ecr_repository_url']}:{tag}"
    problems = deployment_problems(ecs, cluster, names, image)
    for service in ecs.describe_services(cluster=cluster, services=names)["services"]:
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        images = ",".join(c["image"] for c in definition["containerDefinitions"])
        print(
            f"{service['serviceName']}: {service['taskDefinition'].rsplit('/', 1)[1]} {images} "
            f"running {service['runningCount']}/{service['desiredCount']}"
        )
    if problems:
        raise SystemExit(
            "the deploy did not take: "
            + "; ".join(problems)
            + ". See `aws ecs describe-services` and the log group for why its tasks failed."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["image-present", "deploy"])
    parser.add_argument("--root", required=True, help="the Terraform root, e.g. infra/terraform/envs/dev")
    parser.add_argument("--image-tag", required=True, help="the image's tag: the git SHA it was built from")
    parser.add_argument("--wait-seconds", type=int, default=900, help="how long to wait for stable services")
    parser.add_argument(
        "--var-file",
        help="deploy: the environment's settings (a .tfvars file); every variable the environment sets must be in it",
    )
    args = parser.parse_args(argv)
    if args.command == "image-present":
        present = image_present(outputs(args.root), args.image_tag)
        print("present" if present else "absent")
        return 0 if present else 1
    if not args.var_file:
        parser.error("deploy needs --var-file: the environment's settings, or the deploy resets them to the defaults")
    deploy(args.root, args.image_tag, args.wait_seconds, args.var_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
