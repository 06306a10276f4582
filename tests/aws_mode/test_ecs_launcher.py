"""The ECS instance configuration and its run launcher, without AWS: dagster-ecs.yaml is the local production
instance but for how runs start and where their logs go; it validates against Dagster's instance schema; Fargate's
size table is the one AWS documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from favorita_assets.aws.ecs import FavoritaEcsRunLauncher, fargate_size_problem

DAGSTER = Path(__file__).resolve().parents[2] / "infra" / "dagster"


def test_the_ecs_instance_is_the_local_production_instance_but_for_the_launcher_and_the_logs():
    local = yaml.safe_load((DAGSTER / "dagster.yaml").read_text())
    ecs = yaml.safe_load((DAGSTER / "dagster-ecs.yaml").read_text())
    differing = {key for key in set(local) | set(ecs) if local.get(key) != ecs.get(key)}
    assert differing == {"run_launcher", "compute_logs", "local_artifact_storage", "run_monitoring"}
    # A Fargate task pulls the multi-GB image before it starts; a local run's process starts in seconds.
    assert {k: v for k, v in ecs["run_monitoring"].items() if local["run_monitoring"][k] != v} == {
        "start_timeout_seconds": 600
    }
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


def test_the_daemon_starts_on_the_instance_with_terraforms_start_timeout(tmp_path, monkeypatch):
    """The daemon's task (python -m favorita_assets.aws.daemon) copies the image's read-only dagster.yaml with
    FAVORITA_RUN_START_TIMEOUT_SECONDS in it and becomes dagster-daemon run on that copy; a value Dagster could not
    use stops it with one line."""
    from favorita_assets.aws import daemon

    home = tmp_path / "ecs"
    home.mkdir()
    (home / "dagster.yaml").write_text((DAGSTER / "dagster-ecs.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setattr(daemon.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    started = []
    monkeypatch.setattr(
        daemon.os, "execvp", lambda file, args: started.append((file, args, os.environ["DAGSTER_HOME"]))
    )
    monkeypatch.setenv(daemon.START_TIMEOUT_ENV, "900")
    daemon.main(["-w", "/opt/dagster/workspace.yaml"])
    ((file, args, dagster_home),) = started
    assert file == "dagster-daemon" and args == ["dagster-daemon", "run", "-w", "/opt/dagster/workspace.yaml"]
    written = yaml.safe_load((Path(dagster_home) / "dagster.yaml").read_text())
    image = yaml.safe_load((DAGSTER / "dagster-ecs.yaml").read_text())
    assert written["run_monitoring"] == {**image["run_monitoring"], "start_timeout_seconds": 900}
    assert {k: v for k, v in written.items() if k != "run_monitoring"} == {
        k: v for k, v in image.items() if k != "run_monitoring"
    }
    monkeypatch.delenv(daemon.START_TIMEOUT_ENV)
    assert (
        daemon.instance_config((DAGSTER / "dagster-ecs.yaml").read_text(), {})["run_monitoring"][
            "start_timeout_seconds"
        ]
        == 600
    )  # the image's own
    for bad in ("30", "ten minutes"):
        monkeypatch.setenv(daemon.START_TIMEOUT_ENV, bad)
        with pytest.raises(SystemExit) as stopped:
            daemon.main([])
        assert str(stopped.value) == (
            f"[favorita] FAVORITA_RUN_START_TIMEOUT_SECONDS={bad!r}: give whole seconds, at least 60 (a run's task "
            "pulls its image first); Terraform sets it from run_start_timeout_seconds"
        )
