"""Fixtures of the Terraform checks: the terraform binary (skip, saying why, only where it is absent), and the dev root
applied to a private moto server on 127.0.0.1 for the tests of one module."""

from __future__ import annotations

import json
import logging
import time
from types import SimpleNamespace

import boto3
import pytest
import requests
from aws_mode.emulator import FAKE_CREDENTIALS

from favorita_assets.aws.glue_package import build_glue_package
from favorita_assets.topology import free_port
from infra.terraform import Terraform, emulator_override, terraform_binary

logging.getLogger("werkzeug").setLevel(logging.WARNING)

# moto 5.2 implements CreateModelPackageGroup but not DeleteModelPackageGroup: the provider would wait on the delete
# for ever, so the tests take the group out of the state before destroying (after checking it exists).
NOT_DELETABLE_IN_MOTO = ["module.platform.module.training.aws_sagemaker_model_package_group.this"]


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    binary = terraform_binary()
    if binary is None:
        pytest.skip("terraform is not installed (not on PATH, FAVORITA_TERRAFORM unset): the Terraform checks need it")
    return binary


def validate_state_machine_definition(self) -> str:
    """What moto 5.2 lacks and the AWS provider calls when it plans a state machine (it retries a 500 for minutes):
    AWS's answer for a definition that is JSON with StartAt and States, a FAIL diagnostic otherwise."""
    try:
        definition = json.loads(self._get_param("definition"))
        valid = isinstance(definition, dict) and definition.get("StartAt") in definition.get("States", {})
    except (TypeError, ValueError):
        valid = False
    diagnostics = [] if valid else [{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "invalid"}]
    return json.dumps({"result": "OK" if valid else "FAIL", "diagnostics": diagnostics, "truncated": False})


def list_state_machine_versions(self) -> str:
    """moto 5.2 lacks it too; the provider reads a state machine's versions after creating it. None are published."""
    return json.dumps({"stateMachineVersions": []})


def scheduled_rotation(patch) -> None:
    """moto 5.2 turns rotation on only for AutomaticallyAfterDays with a Lambda function; RDS-managed secrets rotate on
    a ScheduleExpression without one (as AWS does). Keep such rules, report them, and let them be cancelled."""
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    rotate, cancel, to_dict = (
        SecretsManagerBackend.rotate_secret,
        SecretsManagerBackend.cancel_rotate_secret,
        FakeSecret.to_dict,
    )

    def rotate_secret(
        self,
        secret_id,
        client_request_token=None,
        rotation_lambda_arn=None,
        rotation_rules=None,
        rotate_immediately=True,
    ):
        result = rotate(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules, rotate_immediately)
        secret = self.secrets[secret_id]
        if rotation_rules and "ScheduleExpression" in rotation_rules and secret.owning_service:
            secret.rotation_enabled = True
            secret.schedule_rules = {
                k: rotation_rules[k] for k in ("ScheduleExpression", "Duration") if k in rotation_rules
            }
        return result

    def cancel_rotate_secret(self, secret_id):
        secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
        if secret is not None and getattr(secret, "schedule_rules", None) and not secret.rotation_lambda_arn:
            secret.rotation_enabled, secret.schedule_rules = False, None
            return secret.to_short_dict()
        return cancel(self, secret_id)

    def secret_to_dict(self):
        found = to_dict(self)
        if getattr(self, "schedule_rules", None) and "RotationRules" in found:
            found["RotationRules"] = dict(self.schedule_rules)
        return found

    patch.setattr(SecretsManagerBackend, "rotate_secret", rotate_secret)
    patch.setattr(SecretsManagerBackend, "cancel_rotate_secret", cancel_rotate_secret)
    patch.setattr(FakeSecret, "to_dict", secret_to_dict)


@pytest.fixture(scope="module")
def moto_server():
    """A moto server of its own; boto3 in this process and terraform get moto's fake credentials."""
    from moto.server import ThreadedMotoServer
    from moto.stepfunctions.responses import StepFunctionResponse

    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        for method in (validate_state_machine_definition, list_state_machine_versions):
            patch.setattr(StepFunctionResponse, method.__name__, method, raising=False)
        scheduled_rotation(patch)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        # moto's backends are per process, not per server: start from nothing (tests/aws_mode made roles too).
        requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10).raise_for_status()
        yield f"http://{host}:{port}"
        server.stop()


def apply_dev(terraform_bin: str, url: str, work, hosting: bool) -> SimpleNamespace:
    """infra/terraform/envs/dev applied to the moto server at ``url``, with the deny-insecure-transport statements off
    (moto does not fill aws:SecureTransport, so with them it refuses every later request to the buckets); with
    ``hosting``, Dagster's own ECS services, RDS and load balancer too."""
    glue_dir = work / "glue"
    build_glue_package(glue_dir)
    tf = Terraform(terraform_bin, work, env=FAKE_CREDENTIALS)
    (tf.root("dev") / "emulator_override.tf").write_text(emulator_override(url))
    tf.init("dev")
    tf_vars = ["-var", f"glue_package_dir={glue_dir}", "-var", f"dagster_hosting={str(hosting).lower()}"]
    secure = ["-var", "enforce_secure_transport=false"]
    started = time.monotonic()
    tf.run("dev", "apply", "-auto-approve", "-no-color", *tf_vars, *secure, timeout=900)
    applied_in = time.monotonic() - started
    return SimpleNamespace(
        tf=tf,
        vars=tf_vars + secure,
        vars_secure_default=tf_vars,
        glue_dir=glue_dir,
        url=url,
        outputs=tf.output("dev"),
        destroyed=False,
        applied_in=applied_in,
    )


@pytest.fixture(scope="module")
def dev_stack(terraform_bin, moto_server, tmp_path_factory):
    """The platform (envs/dev without Dagster's own hosting) applied to moto. Destroyed at the end unless a test
    already did."""
    stack = apply_dev(terraform_bin, moto_server, tmp_path_factory.mktemp("terraform"), hosting=False)
    yield stack
    if not stack.destroyed:
        destroy(stack)


def empty_buckets(url: str) -> None:
    """Delete every object version and delete marker while the buckets are still versioned. (terraform destroy
    suspends versioning before it empties a force_destroy bucket, and moto 5.2 then crashes on delete markers:
    'FakeDeleteMarker' object has no attribute 'dispose'.)"""
    s3 = boto3.client("s3", endpoint_url=url, region_name=FAKE_CREDENTIALS["AWS_DEFAULT_REGION"])
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket["Name"]):
            versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
            if versions:
                s3.delete_objects(
                    Bucket=bucket["Name"],
                    Delete={
                        "Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions],
                        "Quiet": True,
                    },
                )


def destroy(stack) -> None:
    in_state = set(stack.tf.run("dev", "state", "list").stdout.split())
    for address in NOT_DELETABLE_IN_MOTO:
        if address in in_state:
            stack.tf.run("dev", "state", "rm", address)
    empty_buckets(stack.url)
    stack.tf.run("dev", "destroy", "-auto-approve", "-no-color", *stack.vars, timeout=600)
    stack.destroyed = True
