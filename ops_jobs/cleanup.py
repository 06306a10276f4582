"""Clean up model versions nothing uses any more: their artifacts in storage (``models/<version>/``) and, in aws mode,
their per-version SageMaker endpoints, endpoint configurations and models, or (amazon-forecast backend) their Amazon
Forecast dataset groups with everything made from them.

A version is in use, and never removed, while a monthly cut-off's pointer (``models/cutoff_month=YYYY-MM/latest.json``)
names it, an Approved package in the model registry holds its artifact, or the serving endpoint's deployment history
names its package (a rollback needs it). So by default only superseded versions go (a retrain of a month, other
hyperparameters). ``remove_old_months`` also drops the cut-offs older than the newest ``keep`` months: their pointers,
and their versions unless the registry or the serving history still needs them. ``dry_run`` lists without deleting.
Every list call is paginated."""

import re

from dagster import Config, OpExecutionContext, Output, job, op
from pydantic import Field

from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer

_VERSION_IN_ARTIFACT = re.compile(r"/models/([^/]+)/")


def plan_cleanup(storage: Storage, keep: int, in_use: set[str] = frozenset(), remove_old_months: bool = False) -> dict:
    """What a clean-up removes from storage: versions no pointer names and ``in_use`` (registry, serving) lacks; with
    ``remove_old_months``, also the pointers of all but the newest ``keep`` cut-off months."""
    stored = storage.list_keys("models")
    versions = sorted({storage.read_json(k)["version"] for k in stored if k.endswith("/model.json")})
    pointers = {
        k.split("/")[1].removeprefix("cutoff_month="): k
        for k in stored
        if k.split("/")[1].startswith("cutoff_month=") and k.endswith("/latest.json")
    }
    months = sorted(pointers, reverse=True)
    dropped = months[keep:] if remove_old_months else []
    pointed = {storage.read_json(pointers[m]).get("version") for m in months if m not in dropped}
    doomed = sorted(v for v in versions if v not in pointed and v not in in_use)
    files = [k for k in stored if k.split("/")[1] in doomed]
    return {
        "kept": [v for v in versions if v not in doomed],
        "removed": doomed,
        "in_use": sorted(in_use & set(versions)),
        "dropped_months": sorted(dropped),
        "keys": files + [pointers[m] for m in sorted(dropped)],
    }


def _pages(sm, operation: str, key: str, **params) -> list[dict]:
    return [item for page in sm.get_paginator(operation).paginate(**params) for item in page[key]]


def versions_in_use(trainer, storage: Storage) -> set[str]:
    """Versions the model registry (Approved packages) or the serving endpoint's deployment history needs (aws mode)."""
    from favorita_assets.aws.serving import DEPLOYMENTS

    sm = trainer.sm
    packages: set[str] = set()
    if trainer.model_package_group:
        packages |= {
            p["ModelPackageArn"]
            for p in _pages(
                sm,
                "list_model_packages",
                "ModelPackageSummaryList",
                ModelPackageGroupName=trainer.model_package_group,
                ModelApprovalStatus="Approved",
            )
        }
    if storage.exists(DEPLOYMENTS):
        state = storage.read_json(DEPLOYMENTS)
        packages |= {e["package_arn"] for e in state.get("stack", []) + state.get("log", []) if e.get("package_arn")}
    versions = set()
    for arn in packages:
        for container in sm.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"]:
            found = _VERSION_IN_ARTIFACT.search(container.get("ModelDataUrl", ""))
            if found:
                versions.add(found.group(1))
    return versions


def sagemaker_leftovers(trainer, removed: list[str]) -> dict[str, list[str]]:
    """Per-version endpoints, endpoint configs and models of ``removed`` versions (aws mode)."""
    from favorita_assets.aws.sagemaker import resource_name

    sm = trainer.sm
    names = {resource_name(trainer.name_prefix, v) for v in removed}

    def of_removed(name: str) -> bool:  # the version's own name, or one per training / config: name-<stamp>
        return name in names or any(name.startswith(n + "-") for n in names)

    return {
        "endpoints": [
            e["EndpointName"] for e in _pages(sm, "list_endpoints", "Endpoints") if e["EndpointName"] in names
        ],
        "endpoint_configs": [
            c["EndpointConfigName"]
            for c in _pages(sm, "list_endpoint_configs", "EndpointConfigs")
            if of_removed(c["EndpointConfigName"])
        ],
        "models": [m["ModelName"] for m in _pages(sm, "list_models", "Models") if of_removed(m["ModelName"])],
    }


class CleanupConfig(Config):
    keep: int = Field(default=3, ge=1, description="With remove_old_months: the newest cut-off months kept.")
    remove_old_months: bool = Field(
        default=False,
        description="Also drop cut-off months older than the newest `keep`: "
        "their pointers, and their versions unless the registry or serving needs them.",
    )
    dry_run: bool = Field(default=False, description="List what would be removed, remove nothing.")


@op(
    description="Remove model versions nothing uses (no cut-off pointer, no Approved registry package, not in the "
    "serving history): stored artifacts, and in aws mode their per-version SageMaker endpoints, endpoint configs and "
    "models; with remove_old_months also the cut-offs older than the newest N months."
)
def remove_old_versions(context: OpExecutionContext, config: CleanupConfig, storage: Storage, trainer: DeepARTrainer):
    aws = getattr(trainer, "sm", None) is not None
    in_use = versions_in_use(trainer, storage) if aws else set()
    plan = plan_cleanup(storage, config.keep, in_use, config.remove_old_months)
    context.log.info(
        f"keeping {plan['kept']} ({plan['in_use'] or 'none'} needed by the registry or serving); "
        f"removing {plan['removed'] or 'nothing'}"
    )
    sagemaker = {}
    if aws and plan["removed"]:
        sagemaker = sagemaker_leftovers(trainer, plan["removed"])
    # Amazon Forecast: each removed version's dataset groups (one per training), with their predictors, forecasts,
    # exports and datasets.
    forecast_groups = trainer.leftovers(plan["removed"]) if hasattr(trainer, "leftovers") and plan["removed"] else []
    if not config.dry_run and forecast_groups:
        trainer.delete(forecast_groups, log=context.log.info)
    if not config.dry_run:
        for name in sagemaker.get("endpoints", []):
            trainer.sm.delete_endpoint(EndpointName=name)
        for name in sagemaker.get("endpoint_configs", []):
            trainer.sm.delete_endpoint_config(EndpointConfigName=name)
        for name in sagemaker.get("models", []):
            trainer.sm.delete_model(ModelName=name)
        for key in plan["keys"]:
            storage.delete(key)
    verb = "would remove" if config.dry_run else "removed"
    groups = [g["name"] for g in forecast_groups]
    for kind, names in [
        ("stored objects", plan["keys"]),
        *sagemaker.items(),
        ("Amazon Forecast dataset groups", groups),
    ]:
        if names:
            context.log.info(f"{verb} {len(names)} {kind.replace('_', ' ')}: {', '.join(names[:10])}")
    yield Output(
        {**plan, "sagemaker": sagemaker, "forecast_dataset_groups": groups, "dry_run": config.dry_run},
        metadata={
            "kept": ", ".join(plan["kept"]),
            "removed": ", ".join(plan["removed"]) or "nothing",
            "objects": len(plan["keys"]),
            "dry_run": config.dry_run,
            **{f"sagemaker_{k}": len(v) for k, v in sagemaker.items()},
            **({"forecast_dataset_groups": len(groups)} if groups else {}),
        },
    )


@job(
    description="Clean up model versions nothing uses any more (storage, and in aws mode SageMaker endpoints/models "
    "or Amazon Forecast dataset groups)."
)
def cleanup_old_versions():
    remove_old_versions()
