"""Fixtures of the Terraform checks: the terraform binary (skip, saying why, only where it is absent), and the dev root
applied to a private moto server on 127.0.0.1 for the tests of one module."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def moto_server():
    """A moto server of its own; boto3 in this process and terraform get moto's fake credentials."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
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
