"""How many cores the models may use: what this process may really run on, not what the host has.

``os.cpu_count()`` counts the host's CPUs. In a container with a CPU quota (ECS, Kubernetes, a CI runner) or under a
CPU affinity mask, that is more than the process gets, and LightGBM's OpenMP threads, statsforecast's worker
processes and torch's threads, sized to it, spin against each other on the few cores there are. The count here is
the smallest of the CPUs this process may be scheduled on and the container's quota (cgroup v2 ``cpu.max`` or v1
``cpu.cfs_quota_us``), and ``FAVORITA_THREADS`` overrides it (several runs sharing one machine each set their share).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

THREADS_VARIABLE = "FAVORITA_THREADS"
CGROUP = Path("/sys/fs/cgroup")


class ThreadsSettingError(ValueError):
    """FAVORITA_THREADS is set to something that is not a whole number of cores."""


def threads_setting(environ: Mapping[str, str] | None = None) -> int | None:
    """FAVORITA_THREADS as a whole number >= 1, or None when unset; anything else is refused, saying what to set."""
    env = os.environ if environ is None else environ
    raw = env.get(THREADS_VARIABLE, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ThreadsSettingError(
            f"{THREADS_VARIABLE}={raw!r}: use a whole number of cores from 1 (or unset it to use every core this "
            "process may run on)"
        )
    return int(raw)


def _quota(root: Path) -> float | None:
    """The container's CPU quota in cores, or None when it has none (or the files are not there)."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]  # cgroup v2: "max 100000" or "200000 100000"
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())  # cgroup v1: -1 when unlimited
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    except (OSError, ValueError):
        return None


def _own_groups(cgroup: Path, membership: Path) -> list[Path]:
    """The process's own cgroup v2 folder and every folder above it up to ``cgroup`` (a quota set on any of them,
    by systemd's CPUQuota or a container runtime without a private cgroup namespace, applies), deepest first."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return []
    own = next((line[3:] for line in lines if line.startswith("0::")), "")
    parts = [p for p in own.strip().split("/") if p and p != ".."]
    return [cgroup.joinpath(*parts[:n]) for n in range(len(parts), 0, -1)]


def available_cores(
    environ: Mapping[str, str] | None = None, cgroup: Path = CGROUP, membership: Path = Path("/proc/self/cgroup")
) -> int:
    """FAVORITA_THREADS when set; else the CPUs this process may run on, capped by the smallest CPU quota of its
    container and the cgroups it sits in (``membership``: /proc/self/cgroup)."""
    setting = threads_setting(environ)
    if setting is not None:
        return setting
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    quotas = [q for q in (_quota(g) for g in [*_own_groups(cgroup, membership), cgroup]) if q is not None]
    if quotas:
        cores = min(cores, math.ceil(min(quotas)))
    return max(1, cores)
