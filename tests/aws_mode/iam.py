"""Least privilege, enforced by moto: principals that carry exactly the policies Terraform writes, and the resource
each SageMaker, Glue, SNS and CloudWatch Logs call acts on, so moto judges resource-scoped statements as AWS does.

moto authenticates every request (signature, access key) and authorizes it against the caller's IAM policies once
``/moto-api/reset-auth`` has set the number of free requests to 0. For S3 (bucket and key) and SQS (queue) it knows
the resource; for every other service it judges the action against the resource ``*``, so a statement scoped to
ARNs never matches and a correct policy is refused. ``enforce_resources`` gives moto's SageMaker, SageMaker Runtime,
Glue, SNS and Logs handlers the ARN of the resource each call acts on, from the request itself, by AWS's rules: an
action with no resource type (the List calls) is judged against ``*``, so only a ``Resource: "*"`` statement allows it.

A SageMaker Create* call with Tags is also judged as sagemaker:AddTags on the resource it creates, as AWS does.

What moto does not check, even so: KMS key use behind S3's SSE-KMS (S3 never asks KMS here), ``iam:PassRole`` when
a job names a role, and condition keys it does not fill (``iam:PassedToService``, ``cloudwatch:namespace``).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any

import boto3
import requests

ACCOUNT = "123456789012"  # moto's default account

# SageMaker operation -> (resource type in the ARN, request field naming it). From the Service Authorization
# Reference; the operations the pipeline, the ops jobs and the tests call.
_SAGEMAKER = {
    **dict.fromkeys(
        ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"), ("training-job", "TrainingJobName")
    ),
    **dict.fromkeys(
        ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob"), ("transform-job", "TransformJobName")
    ),
    **dict.fromkeys(("CreateModel", "DescribeModel", "DeleteModel"), ("model", "ModelName")),
    **dict.fromkeys(
        ("CreateEndpoint", "DescribeEndpoint", "DeleteEndpoint", "UpdateEndpoint"), ("endpoint", "EndpointName")
    ),
    **dict.fromkeys(
        ("CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig"),
        ("endpoint-config", "EndpointConfigName"),
    ),
    "DescribeModelPackageGroup": ("model-package-group", "ModelPackageGroupName"),
    "CreateModelPackageGroup": ("model-package-group", "ModelPackageGroupName"),
}
_GLUE_JOB_OPERATIONS = {"StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun", "GetJob"}


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def sagemaker_resource(operation: str, params: dict, region: str) -> str:
    if operation in _SAGEMAKER:
        kind, field = _SAGEMAKER[operation]
        return _arn("sagemaker", region, f"{kind}/{params.get(field, '')}".lower())
    if operation in ("AddTags", "ListTags", "DeleteTags"):
        return str(params.get("ResourceArn", "*"))
    if operation == "CreateModelPackage":  # a new version in the group
        return _arn("sagemaker", region, f"model-package/{params.get('ModelPackageGroupName', '')}/*".lower())
    if operation in ("DescribeModelPackage", "UpdateModelPackage"):
        name = str(params.get("ModelPackageName") or params.get("ModelPackageArn") or "")
        return name if name.startswith("arn:") else _arn("sagemaker", region, f"model-package/{name}".lower())
    return "*"  # List* and Search: no resource type


def glue_resource(operation: str, params: dict, region: str) -> str:
    if operation in _GLUE_JOB_OPERATIONS:
        return _arn("glue", region, f"job/{params.get('JobName', '')}")
    return "*"


def logs_resource(operation: str, params: dict, region: str) -> str:
    group = params.get("logGroupName")
    return _arn("logs", region, f"log-group:{group}") if group else "*"


def _params(response: Any) -> dict:
    try:
        body = json.loads(response.body or "{}")
        if isinstance(body, dict) and body:
            return body
    except ValueError:
        pass
    return {k: v[0] for k, v in (response.querystring or {}).items() if v}  # query protocol (SNS)


def enforce_resources() -> None:
    """Teach moto's handlers the resource of each call (idempotent; harmless while authorization is off)."""
    from moto.glue.responses import GlueResponse
    from moto.logs.responses import LogsResponse
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
    from moto.sns.responses import SNSResponse

    def resolver(rule):
        def _determine_resource(self) -> str:
            try:
                return rule(self._get_action(), _params(self), self.region)
            except Exception:  # noqa: BLE001 - never break moto's own handling: the strictest answer instead
                return "*"

        return _determine_resource

    SageMakerResponse._determine_resource = resolver(sagemaker_resource)
    if not getattr(SageMakerResponse, "_tag_on_create", False):
        original = SageMakerResponse._authenticate_and_authorize_normal_action

        def with_tag_on_create(self, resource: str = "*") -> None:
            """A SageMaker Create* call that carries Tags also needs sagemaker:AddTags on the resource it creates (AWS's
            tag-on-create authorization), which moto does not check on its own."""
            original(self, resource)
            action = self._get_action()
            if action.startswith("Create") and _params(self).get("Tags"):
                self._get_action = lambda: "AddTags"
                try:
                    original(self, resource)
                finally:
                    del self._get_action

        SageMakerResponse._authenticate_and_authorize_normal_action = with_tag_on_create
        SageMakerResponse._tag_on_create = True
    GlueResponse._determine_resource = resolver(glue_resource)
    LogsResponse._determine_resource = resolver(logs_resource)
    SNSResponse._determine_resource = resolver(lambda op, params, region: params.get("TopicArn", "*"))

    def runtime(self) -> str:  # POST /endpoints/<name>/invocations
        parts = self.path.split("?")[0].strip("/").split("/")
        name = parts[1] if len(parts) >= 2 and parts[0] == "endpoints" else ""
        return _arn("sagemaker", self.region, f"endpoint/{name}".lower()) if name else "*"

    SageMakerRuntimeResponse._determine_resource = runtime


def principal(url: str, name: str, *, managed: list[str] = (), inline: dict[str, dict] | None = None) -> dict[str, str]:
    """An IAM user holding exactly ``managed`` policy ARNs and ``inline`` documents; its access key as environment."""
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    iam.create_user(UserName=name)
    for arn in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    for policy_name, document in (inline or {}).items():
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@contextmanager
def authorization(url: str):
    """moto authenticates and authorizes every request inside the block (every server in this process: moto's
    settings are per process), and stops at the end."""
    enforce_resources()
    requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        yield
    finally:
        requests.post(f"{url}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()


def as_principal(credentials: dict[str, str], patch) -> None:
    """This process's boto3 clients (and the subprocesses it starts) sign as ``credentials``."""
    for name, value in credentials.items():
        patch.setenv(name, value)
    patch.delenv("AWS_SESSION_TOKEN", raising=False)
