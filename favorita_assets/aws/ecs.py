"""Each run its own ECS Fargate task: dagster-aws's ``EcsRunLauncher`` with two additions.

- The run tasks' network comes from the environment (``subnets`` and ``security_groups``, comma-separated, which the
  Terraform module sets as DAGSTER_RUN_SUBNETS and DAGSTER_RUN_SECURITY_GROUPS). dagster-aws would otherwise copy the
  network of the task the launcher runs in (the daemon's), or need it literally in dagster.yaml.
- A run resized by its ``ecs/cpu`` and ``ecs/memory`` tags is checked against Fargate's table of CPU/memory pairs
  before ECS is asked: a wrong pair fails the launch with a message that names the tags and the pairs allowed, instead
  of an ECS ClientError after the run was dequeued.

The instance configuration that uses it is infra/dagster/dagster-ecs.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Field, StringSource
from dagster._core.launcher import LaunchRunContext
from dagster_aws.ecs import EcsRunLauncher

# Fargate's CPU units -> the memory sizes (MiB) it accepts with them (AWS ECS developer guide, "Task CPU and memory").
FARGATE_SIZES: dict[int, range | tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}


def fargate_size_problem(cpu: object, memory: object) -> str | None:
    """Why ``cpu``/``memory`` is not a Fargate task size, or None when it is one."""
    try:
        cpu_units, memory_mib = int(str(cpu)), int(str(memory))
    except ValueError:
        return f"cpu={cpu!r} and memory={memory!r} must be whole numbers (CPU units, MiB)"
    allowed = FARGATE_SIZES.get(cpu_units)
    if allowed is None:
        return f"cpu={cpu_units} is not a Fargate size; use one of {', '.join(map(str, FARGATE_SIZES))}"
    if memory_mib not in allowed:
        sizes = list(allowed)
        return (
            f"memory={memory_mib} does not go with cpu={cpu_units} on Fargate; with {cpu_units} CPU units use "
            f"{sizes[0]}-{sizes[-1]} MiB in steps of {sizes[1] - sizes[0]}"
        )
    return None


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class FavoritaEcsRunLauncher(EcsRunLauncher):
    """``EcsRunLauncher`` whose run tasks get the subnets and security groups named in its config, and whose
    resized runs are checked against Fargate's sizes."""

    def __init__(self, inst_data=None, subnets: str = "", security_groups: str = "", **config: Any) -> None:
        run_task_kwargs = dict(config.pop("run_task_kwargs", None) or {})
        if subnets or security_groups:
            if not _split(subnets) or not _split(security_groups):
                raise ValueError(
                    "the ECS run launcher needs both subnets and security_groups (DAGSTER_RUN_SUBNETS and "
                    f"DAGSTER_RUN_SECURITY_GROUPS, comma-separated); got subnets={subnets!r}, "
                    f"security_groups={security_groups!r}"
                )
            run_task_kwargs["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": _split(subnets),
                    "securityGroups": _split(security_groups),
                    "assignPublicIp": "DISABLED",
                }
            }
        super().__init__(inst_data=inst_data, run_task_kwargs=run_task_kwargs, **config)
        self._default_size: Mapping[str, str] | None = None

    def _task_definition_size(self) -> Mapping[str, str]:
        """The run task definition's own cpu and memory, read once, and only when a run is resized by its tags (every
        process that opens the instance builds the launcher; most never launch a run)."""
        if self._default_size is None:
            self._default_size = {}
            if self.task_definition:
                definition = self.ecs.describe_task_definition(taskDefinition=self.task_definition)["taskDefinition"]
                self._default_size = {"cpu": definition.get("cpu", ""), "memory": definition.get("memory", "")}
        return self._default_size

    @classmethod
    def config_type(cls):
        return {
            **super().config_type(),
            "subnets": Field(
                StringSource,
                is_required=False,
                default_value="",
                description="Subnets of the run tasks, comma-separated.",
            ),
            "security_groups": Field(
                StringSource,
                is_required=False,
                default_value="",
                description="Security groups of the run tasks, comma-separated.",
            ),
        }

    def launch_run(self, context: LaunchRunContext) -> None:
        tags = context.dagster_run.tags
        if "ecs/cpu" in tags or "ecs/memory" in tags:
            cpu = tags["ecs/cpu"] if "ecs/cpu" in tags else self._task_definition_size().get("cpu")
            memory = tags["ecs/memory"] if "ecs/memory" in tags else self._task_definition_size().get("memory")
            problem = fargate_size_problem(cpu, memory)
            if problem:
                raise ValueError(
                    f"run {context.dagster_run.run_id}: its tags ecs/cpu and ecs/memory ask for {problem}. "
                    "Change the tags and launch it again."
                )
        super().launch_run(context)
