"""The cores the models use: the process's own CPUs and its container's quota, not the host's count."""

import os

import pytest

from favorita_assets.core.cores import ThreadsSettingError, available_cores
from favorita_assets.settings import Settings, SettingsError


def affinity() -> int:
    return len(os.sched_getaffinity(0))


def test_a_cgroup_v2_quota_caps_the_count(tmp_path):
    (tmp_path / "cpu.max").write_text("100000 100000\n")  # one core's worth
    assert available_cores({}, cgroup=tmp_path) == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # a core and a half: two threads, each busy part of the time
    assert available_cores({}, cgroup=tmp_path) == min(2, affinity())
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cores({}, cgroup=tmp_path) == affinity()


def test_a_cgroup_v1_quota_caps_the_count_and_minus_one_means_none(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    assert available_cores({}, cgroup=tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert available_cores({}, cgroup=tmp_path) == affinity()


def test_favorita_threads_overrides_and_a_bad_value_is_refused_before_any_work(tmp_path):
    assert available_cores({"FAVORITA_THREADS": "3"}, cgroup=tmp_path) == 3
    for bad in ("0", "two", "-1", "1.5"):
        with pytest.raises(ThreadsSettingError, match="FAVORITA_THREADS="):
            available_cores({"FAVORITA_THREADS": bad}, cgroup=tmp_path)
        with pytest.raises(SettingsError, match=f"FAVORITA_THREADS='{bad}': use a whole number of cores from 1"):
            Settings.from_env({"FAVORITA_THREADS": bad})


def test_a_quota_on_the_process_own_cgroup_or_above_it_counts(tmp_path):
    """cgroup v2 without a private namespace (systemd's CPUQuota, some runtimes): the quota sits on the process's own
    group, named in /proc/self/cgroup, or on a group above it, not at the top."""
    membership = tmp_path / "self_cgroup"
    membership.write_text("0::/system.slice/favorita.service\n")
    (tmp_path / "system.slice" / "favorita.service").mkdir(parents=True)
    (tmp_path / "system.slice" / "favorita.service" / "cpu.max").write_text("max 100000\n")
    (tmp_path / "system.slice" / "cpu.max").write_text("100000 100000\n")  # one core for the whole slice
    assert available_cores({}, cgroup=tmp_path, membership=membership) == 1
    membership.write_text("0::/\n")
    assert available_cores({}, cgroup=tmp_path, membership=membership) == affinity()
