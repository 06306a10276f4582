"""The ECS instance configuration and its run launcher, without AWS: dagster-ecs.yaml is the local production
instance but for how runs start and where their logs go; it validates against Dagster's instance schema; Fargate's
size table is the one AWS documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from favorita_assets.aws.ecs import FavoritaEcsRunLauncher, fargate_size_problem

DAGSTER = Path(__file__).resolve().parents[2] / "infra" / "dagster"


def test_the_ecs_instance_is_the_local_production_instance_but_for_the_launcher_and_the_logs():
    local = yaml.safe_load((DAGSTER / "dagster.yaml").read_text())
    ecs = yaml.safe_load((DAGSTER / "dagster-ecs.yaml").read_text())
    differing = {key for key in set(local) | set(ecs) if local.get(key) != ecs.get(key)}
    assert differing == {"run_launcher", "compute_logs", "local_artifact_storage"}
    assert ecs["run_launcher"]["class"] == FavoritaEcsRunLauncher.__name__
    assert ecs["run_launcher"]["config"]["use_current_ecs_task_config"] is False
    assert ecs["run_launcher"]["config"]["secrets_tag"] is None  # no ListSecrets: the task definition names its secret
    assert ecs["compute_logs"]["class"] == "S3ComputeLogManager"


def test_the_ecs_instance_and_its_launcher_config_validate_against_their_schemas(monkeypatch):
    import re

    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    text = (DAGSTER / "dagster-ecs.yaml").read_text()
    for name in re.findall(r"\{env: (\w+)\}", text):  # what Terraform's task definitions set
        monkeypatch.setenv(name, "5432" if name.endswith("_PORT") else f"value-of-{name}")
    ecs = yaml.safe_load(text)
    result = process_config(dagster_instance_config_schema(), ecs)
    assert result.success, [e.message for e in result.errors]
    launcher = process_config(FavoritaEcsRunLauncher.config_type(), ecs["run_launcher"]["config"])
    assert launcher.success, [e.message for e in launcher.errors]
    assert launcher.value["subnets"] == "value-of-DAGSTER_RUN_SUBNETS"
    assert launcher.value["run_task_kwargs"]["cluster"] == "value-of-DAGSTER_ECS_CLUSTER"


@pytest.mark.parametrize(
    ("cpu", "memory", "problem"),
    [
        (256, 512, None),
        (1024, 8192, None),
        (2048, 16384, None),
        (4096, 30720, None),
        (16384, 122880, None),
        (
            2048,
            2048,
            "memory=2048 does not go with cpu=2048 on Fargate; with 2048 CPU units use 4096-16384 MiB in steps of 1024",
        ),
        (
            8192,
            18432,
            "memory=18432 does not go with cpu=8192 on Fargate; "
            "with 8192 CPU units use 16384-61440 MiB in steps of 4096",
        ),
        (3000, 8192, "cpu=3000 is not a Fargate size; use one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
        ("two", 8192, "cpu='two' and memory=8192 must be whole numbers (CPU units, MiB)"),
    ],
)
def test_fargate_sizes_are_the_pairs_aws_allows(cpu, memory, problem):
    assert fargate_size_problem(cpu, memory) == problem


def test_the_launcher_needs_both_subnets_and_security_groups():
    with pytest.raises(ValueError, match="needs both subnets and security_groups"):
        FavoritaEcsRunLauncher(subnets="subnet-1", security_groups="", use_current_ecs_task_config=False)
