"""Clean up model versions beyond the newest N: their artifacts in storage (``models/<version>/``, the cut-off
pointers that name them) and, in aws mode, their per-version SageMaker endpoints, endpoint configurations and models.
The serving endpoint and whatever its deployment stack names are never touched. ``dry_run`` lists without deleting."""


from dagster import Config, OpExecutionContext, Output, job, op
from pydantic import Field

from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer


def plan_cleanup(storage: Storage, keep: int) -> dict[str, list[str]]:
    """What a clean-up keeping the newest ``keep`` versions (by training time, then name) removes from storage."""
    stored = storage.list_keys("models")
    infos = [storage.read_json(k) for k in stored if k.endswith("/model.json")]
    versions = sorted(infos, key=lambda i: (i.get("trained_at", ""), i["version"]), reverse=True)
    doomed = {i["version"] for i in versions[keep:]}
    files = [k for k in stored if k.split("/")[1] in doomed]
    pointers = [k for k in stored if k.split("/")[1].startswith("cutoff_month=") and k.endswith("/latest.json")
                and storage.read_json(k).get("version") in doomed]  # fmt: skip
    return {"kept": [i["version"] for i in versions[:keep]], "removed": sorted(doomed), "keys": files + pointers}


def sagemaker_leftovers(trainer, removed: list[str]) -> dict[str, list[str]]:
    """Per-version endpoints, endpoint configs and models of ``removed`` versions (aws mode)."""
    from favorita_assets.aws.sagemaker import resource_name

    sm = trainer.sm
    names = {resource_name(trainer.name_prefix, v) for v in removed}
    endpoints = [e["EndpointName"] for e in sm.list_endpoints(MaxResults=100)["Endpoints"] if e["EndpointName"] in names]
    configs = [c["EndpointConfigName"] for c in sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]
               if any(c["EndpointConfigName"].startswith(n + "-") for n in names)]  # fmt: skip
    models = [m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]  # one model per training of a version
              if m["ModelName"] in names or any(m["ModelName"].startswith(n + "-") for n in names)]  # fmt: skip
    return {"endpoints": endpoints, "endpoint_configs": configs, "models": models}


class CleanupConfig(Config):
    keep: int = Field(default=3, ge=1, description="Model versions to keep (the newest by training time).")
    dry_run: bool = Field(default=False, description="List what would be removed, remove nothing.")


@op(description="Remove model versions beyond the newest N: stored artifacts and pointers, and in aws mode their "
    "per-version SageMaker endpoints, endpoint configs and models.")  # fmt: skip
def remove_old_versions(context: OpExecutionContext, config: CleanupConfig, storage: Storage, trainer: DeepARTrainer):
    plan = plan_cleanup(storage, config.keep)
    context.log.info(f"keeping {plan['kept']}; removing {plan['removed'] or 'nothing'}")
    sagemaker = {}
    if getattr(trainer, "sm", None) is not None and plan["removed"]:
        sagemaker = sagemaker_leftovers(trainer, plan["removed"])
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
    for kind, names in [("stored objects", plan["keys"]), *sagemaker.items()]:
        if names:
            context.log.info(f"{verb} {len(names)} {kind.replace('_', ' ')}: {', '.join(names[:10])}")
    yield Output(
        {**plan, "sagemaker": sagemaker, "dry_run": config.dry_run},
        metadata={"kept": ", ".join(plan["kept"]), "removed": ", ".join(plan["removed"]) or "nothing",
                  "objects": len(plan["keys"]), "dry_run": config.dry_run,
                  **{f"sagemaker_{k}": len(v) for k, v in sagemaker.items()}},
    )  # fmt: skip


@job(description="Clean up model versions beyond the newest N (storage, and SageMaker endpoints/models in aws mode).")
def cleanup_old_versions():
    remove_old_versions()
