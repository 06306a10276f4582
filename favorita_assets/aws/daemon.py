"""The Dagster daemon's start on ECS: the image's instance configuration with this deployment's run-start timeout,
then ``dagster-daemon run``.

Run monitoring fails a run whose task has not started after ``run_monitoring.start_timeout_seconds``. Dagster reads
that number from dagster.yaml as a plain integer (no ``{env: ...}`` there), and the image's dagster.yaml is read-only,
so the daemon's task starts here instead: ``python -m favorita_assets.aws.daemon -w /opt/dagster/workspace.yaml``
copies ``$DAGSTER_HOME/dagster.yaml`` to a writable folder with ``FAVORITA_RUN_START_TIMEOUT_SECONDS`` (Terraform's
``run_start_timeout_seconds``) in it, points DAGSTER_HOME there and becomes ``dagster-daemon run`` with the
arguments given. Only the daemon monitors runs, so only its copy needs the setting.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

START_TIMEOUT_ENV = "FAVORITA_RUN_START_TIMEOUT_SECONDS"
# Fargate caches no image: every run task pulls the whole image (several GB) before its container starts. Less than a
# minute would fail runs whose task is merely starting.
MIN_START_TIMEOUT_SECONDS = 60


class DaemonSettingError(ValueError):
    """A run-monitoring setting in the daemon's environment that Dagster cannot use."""


def instance_config(text: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """The instance configuration ``text`` (dagster.yaml) with ``environ``'s run-start timeout, when it sets one."""
    config = yaml.safe_load(text)
    raw = environ.get(START_TIMEOUT_ENV, "").strip()
    if raw:
        try:
            seconds = int(raw)
        except ValueError:
            seconds = 0
        if seconds < MIN_START_TIMEOUT_SECONDS:
            raise DaemonSettingError(
                f"{START_TIMEOUT_ENV}={raw!r}: give whole seconds, at least {MIN_START_TIMEOUT_SECONDS} "
                "(a run's task pulls its image first); Terraform sets it from run_start_timeout_seconds"
            )
        config.setdefault("run_monitoring", {})["start_timeout_seconds"] = seconds
    return config


def write_instance(home: Path, target: Path, environ: Mapping[str, str]) -> Path:
    """``home``'s dagster.yaml, with ``environ``'s settings, written to ``target``/dagster.yaml; returns ``target``."""
    config = instance_config((home / "dagster.yaml").read_text(), environ)
    target.mkdir(parents=True, exist_ok=True)
    (target / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    home = Path(os.environ.get("DAGSTER_HOME", "/opt/dagster/ecs"))
    try:
        target = write_instance(home, Path(tempfile.gettempdir()) / "dagster-daemon", os.environ)
    except DaemonSettingError as error:
        sys.exit(f"[favorita] {error}")
    os.environ["DAGSTER_HOME"] = str(target)
    os.execvp("dagster-daemon", ["dagster-daemon", "run", *args])


if __name__ == "__main__":
    main()
