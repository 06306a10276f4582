"""The least-privilege emulation (tests/aws_mode/iam.py) judges what AWS judges and moto alone would not: a SageMaker
Create* call that carries Tags needs sagemaker:AddTags on the resource it creates."""

from __future__ import annotations

import boto3
import pytest
from aws_mode.emulator import FAKE_CREDENTIALS
from aws_mode.iam import authorization, principal
from botocore.exceptions import ClientError

REGION = FAKE_CREDENTIALS["AWS_DEFAULT_REGION"]
GROUP_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:model-package-group/favorita-x-deepar"
PACKAGES = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/favorita-x-deepar/*"


def policy(*actions: str) -> dict:
    statement = {"Effect": "Allow", "Action": list(actions), "Resource": [GROUP_ARN, PACKAGES]}
    return {"Version": "2012-10-17", "Statement": [statement]}


def register(url: str, credentials: dict, tags: bool) -> None:
    sagemaker = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=None,
    )
    sagemaker.create_model_package(
        ModelPackageGroupName="favorita-x-deepar",
        ModelPackageDescription="a version",
        InferenceSpecification={
            "Containers": [{"Image": "224300973850.dkr.ecr.eu-west-1.amazonaws.com/forecasting-deepar:1"}],
            "SupportedContentTypes": ["application/jsonlines"],
            "SupportedResponseMIMETypes": ["application/jsonlines"],
        },
        ModelApprovalStatus="PendingManualApproval",
        **({"Tags": [{"Key": "project", "Value": "favorita-forecast"}]} if tags else {}),
    )


def test_registering_a_tagged_model_package_needs_add_tags_on_the_package(moto_server):
    boto3.client("sagemaker", endpoint_url=moto_server, region_name=REGION).create_model_package_group(
        ModelPackageGroupName="favorita-x-deepar"
    )
    without = principal(moto_server, "no-add-tags", inline={"p": policy("sagemaker:CreateModelPackage")})
    with_tags = principal(
        moto_server, "add-tags", inline={"p": policy("sagemaker:CreateModelPackage", "sagemaker:AddTags")}
    )
    with authorization(moto_server):
        register(moto_server, without, tags=False)  # untagged: CreateModelPackage is enough
        with pytest.raises(ClientError) as refused:
            register(moto_server, without, tags=True)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException" or "AccessDenied" in str(
            refused.value
        )
        register(moto_server, with_tags, tags=True)
