"""Deploy the Dagster code location to ECS: the steps of the CI workflow's deploy job, runnable by hand.

    python infra/deploy/deploy_dagster.py image-present --root infra/terraform/envs/dev --image-tag SHA
        exit 0 when <repository>:SHA is already in ECR (tags are immutable: it is never pushed twice), 1 when not
    python infra/deploy/deploy_dagster.py deploy --root infra/terraform/envs/dev --image-tag SHA
        refuses a tag that is not in ECR; terraform apply with dagster_image_tag=SHA (new task-definition revisions
        for the webserver, daemon, code server and runs, and the three services moved to them); then waits until
        ECS reports the three services stable, and prints what each one runs

A rollback is a deploy of an earlier SHA (its image is still in ECR: the repository keeps the newest 30).

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


def terraform(root: str, *args: str) -> str:
    result = subprocess.run(
        [os.environ.get("TERRAFORM", "terraform"), f"-chdir={root}", *args],
        text=True,
        capture_output=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"terraform {args[0]} in {root} failed (exit {result.returncode})")
    return result.stdout


def outputs(root: str) -> dict:
    found = {name: spec["value"] for name, spec in json.loads(terraform(root, "output", "-json")).items()}
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


def deploy(root: str, tag: str, wait_seconds: int) -> None:
    before = outputs(root)
    if not image_present(before, tag):
        raise SystemExit(
            f"{before['dagster_ecr_repository_url']}:{tag} is not in ECR: build and push it first "
            "(the deploy job does), or pick a SHA that was deployed before"
        )
    terraform(root, "apply", "-input=false", "-auto-approve", "-no-color", f"-var=dagster_image_tag={tag}")
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
    for service in ecs.describe_services(cluster=cluster, services=names)["services"]:
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        images = ",".join(c["image"] for c in definition["containerDefinitions"])
        print(
            f"{service['serviceName']}: {service['taskDefinition'].rsplit('/', 1)[1]} {images} "
            f"running {service['runningCount']}/{service['desiredCount']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["image-present", "deploy"])
    parser.add_argument("--root", required=True, help="the Terraform root, e.g. infra/terraform/envs/dev")
    parser.add_argument("--image-tag", required=True, help="the image's tag: the git SHA it was built from")
    parser.add_argument("--wait-seconds", type=int, default=900, help="how long to wait for stable services")
    args = parser.parse_args(argv)
    if args.command == "image-present":
        present = image_present(outputs(args.root), args.image_tag)
        print("present" if present else "absent")
        return 0 if present else 1
    deploy(args.root, args.image_tag, args.wait_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
