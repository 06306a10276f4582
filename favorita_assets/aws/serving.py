"""The real-time serving endpoint: deploy a model package from the registry, roll back to the one before.

One endpoint, ``<prefix>-serving``, serves the platform's current model. A deploy creates a SageMaker Model from the
package (approved ones only unless forced), an endpoint configuration, and creates or updates the endpoint (an update
keeps serving the old variant until the new one is in service). Deployments are kept as a stack in storage
(``ops/serving/deployments.json``); a rollback pops the top and updates the endpoint to the configuration below it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from favorita_assets import storage_keys as keys
from favorita_assets.aws.sagemaker import TAGS, SageMakerDeepAR, resource_name, utc_stamp
from favorita_assets.resources.storage import Storage

DEPLOYMENTS = keys.SERVING_DEPLOYMENTS


class ServingError(RuntimeError):
    """A deploy or rollback that cannot be done, with what to do."""


def serving_endpoint(trainer: SageMakerDeepAR) -> str:
    return resource_name(trainer.name_prefix, "serving")


def read_deployments(storage: Storage) -> dict[str, Any]:
    return storage.read_json(DEPLOYMENTS) if storage.exists(DEPLOYMENTS) else {"stack": [], "log": []}


def latest_package(trainer: SageMakerDeepAR, approved_only: bool = True) -> str:
    if not trainer.model_package_group:
        raise ServingError(
            "no model registry: set FAVORITA_MODEL_PACKAGE_GROUP (Terraform output model_package_group_name)"
        )
    query = {"ModelPackageGroupName": trainer.model_package_group, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if approved_only:
        query["ModelApprovalStatus"] = "Approved"
    packages = trainer.sm.list_model_packages(**query)["ModelPackageSummaryList"]
    if not packages:
        raise ServingError(
            f"model package group {trainer.model_package_group} holds no "
            f"{'approved ' if approved_only else ''}package: train a model that wins its backtest, or "
            "name a package and force the deploy"
        )
    return packages[0]["ModelPackageArn"]


def deploy(
    trainer: SageMakerDeepAR, storage: Storage, package_arn: str | None = None, force: bool = False, log=print
) -> dict:
    """Put ``package_arn`` (default: the newest approved package) behind the serving endpoint."""
    sm = trainer.sm
    package_arn = package_arn or latest_package(trainer)
    package = sm.describe_model_package(ModelPackageName=package_arn)
    if package.get("ModelApprovalStatus") != "Approved" and not force:
        raise ServingError(
            f"{package_arn} is {package.get('ModelApprovalStatus')}, not Approved: its backtest did not "
            "beat the baselines; deploy it anyway with force"
        )
    endpoint = serving_endpoint(trainer)
    stamp = utc_stamp()
    model_name = resource_name(trainer.name_prefix, "pkg", package_arn.rsplit("/", 1)[-1], stamp)
    sm.create_model(
        ModelName=model_name,
        PrimaryContainer={"ModelPackageName": package_arn},
        ExecutionRoleArn=trainer.role_arn,
        Tags=TAGS,
    )
    # AWS refuses a second configuration of a name: the package's number keeps two deploys in one second apart.
    config = resource_name(endpoint, stamp, package_arn.rsplit("/", 1)[-1])
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InstanceType": trainer.inference_instance_type,
                "InitialInstanceCount": 1,
            }
        ],
        Tags=TAGS,
    )
    _point(trainer, endpoint, config, log)
    state = read_deployments(storage)
    entry = {
        "package_arn": package_arn,
        "model_name": model_name,
        "endpoint_config": config,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    state["stack"].append(entry)
    state["log"].append({"action": "deploy", **entry})
    storage.write_json(DEPLOYMENTS, state)
    return {"endpoint": endpoint, **entry}


def rollback(trainer: SageMakerDeepAR, storage: Storage, log=print) -> dict:
    """Return the serving endpoint to the deployment before the current one."""
    state = read_deployments(storage)
    if len(state["stack"]) < 2:
        raise ServingError(
            f"nothing to roll back to: {len(state['stack'])} deployment(s) recorded in {storage.uri(DEPLOYMENTS)}"
        )
    current = state["stack"].pop()
    previous = state["stack"][-1]
    endpoint = serving_endpoint(trainer)
    _point(trainer, endpoint, previous["endpoint_config"], log)
    state["log"].append(
        {
            "action": "rollback",
            "from": current["package_arn"],
            "to": previous["package_arn"],
            "endpoint_config": previous["endpoint_config"],
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    storage.write_json(DEPLOYMENTS, state)
    return {"endpoint": endpoint, "rolled_back": current["package_arn"], **previous}


def _point(trainer: SageMakerDeepAR, endpoint: str, config: str, log) -> None:
    sm = trainer.sm
    try:
        sm.describe_endpoint(EndpointName=endpoint)
        exists = True
    except ClientError as error:
        if "Could not find" not in str(error) and "ValidationException" not in str(error):
            raise
        exists = False
    if exists:
        log(f"updating endpoint {endpoint} to {config} (the old variant serves until the new one is in service)")
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    else:
        log(f"creating endpoint {endpoint} with {config}")
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config, Tags=TAGS)
    trainer.wait(
        f"endpoint {endpoint}",
        lambda: sm.describe_endpoint(EndpointName=endpoint),
        "EndpointStatus",
        done={"InService"},
        failed={"Failed", "OutOfService"},
        deadline_seconds=3600,
        log=log,
    )
