"""The scale benchmark's "distributed" column: the backtest's challengers on the same channels, in this process (as
the embedded default and the Dagster run in AWS mode with FAVORITA_CHALLENGERS_ON=in-process run them) and as the
Glue job's Spark tasks on local Spark (``--task challengers``, local mode on the cores given), with the wall time and
the peak memory of the process that holds the run: for the in-process path the whole process tree (the Dagster run),
for Spark the Python driver alone (the Glue driver; the Dagster run then only reads the per-series forecasts back,
measured as "read back"). From the Spark tasks' own seconds per series, a projection of the Glue workers and wall
time for larger chains.

Run by ``scale_benchmark.py --distributed`` (one child process per scale), or alone:

    python benchmarks/distributed_backtest.py --scale 1 --workdir DIR [--cores 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

STORES_PER_SCALE = 54
CANDIDATES = ("last_week", "mean_last_4_weekdays", "croston", "lightgbm", "lightgbm_direct")
GLUE_WORKER_VCPUS = 4  # G.1X: 4 vCPUs, 16 GB; one Spark task per vCPU
GLUE_DPU_HOUR_USD = 0.44  # Glue 5 Spark jobs, per DPU-hour (a G.1X worker is 1 DPU), eu-west-1/us-east-1 list price
GLUE_START_SECONDS = 60  # a Glue 5 job run's start before the first task (measured on AWS as 30-90 s)


class PeakMemory:
    """The highest memory of a process (``tree``: with its children, as PSS) sampled every 0.2 s in a thread."""

    def __init__(self, tree: bool) -> None:
        self.tree, self.peak, self._stop = tree, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        if not self.tree:
            return me.memory_info().rss
        total = 0
        for p in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += p.memory_full_info().pss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def build_channels(scale: int, folder: Path) -> Path:
    """Sample data for ``scale`` x 54 stores, cleaned and turned into the test and inference channels (the local
    backend's code) under ``folder/channels``, with the manifest the challengers task reads."""
    from favorita_assets.core.channels import build_channel_files
    from favorita_assets.core.cleaning import clean_tables
    from favorita_assets.core.sample_data import write_sample_data
    from favorita_assets.core.schema import read_kaggle_csv

    channels = folder / "channels"
    if (channels / "manifest.json").exists():
        return channels
    data = folder / "data"
    write_sample_data(data, n_stores=scale * STORES_PER_SCALE, n_families=33, end="2017-07-30", seed=scale)
    frames = {t: read_kaggle_csv(data / f"{t}.csv", t) for t in ("train", "stores", "oil", "holidays_events")}
    cleaned = clean_tables(frames)
    del frames["train"]
    built = folder / "built"
    summary = build_channel_files(
        cleaned, None, frames["stores"], frames["holidays_events"], pd.Timestamp("2017-07-30"), 16, 2, built
    )
    for name in ("test", "inference"):
        (channels / name).mkdir(parents=True, exist_ok=True)
        (built / f"{name}.json").replace(channels / name / "data.json")
    manifest = {"cutoff": "2017-07-30", "prediction_length": 16, "backtest_windows": 2, "series": summary["series"]}
    (channels / "manifest.json").write_text(json.dumps(manifest))
    return channels


def in_process(channels: Path, global_models_by: str) -> dict:
    from favorita_assets.core.challengers import run_challengers
    from favorita_assets.core.deepar_format import compact_record, iter_json_lines_file
    from favorita_assets.core.evaluation import problems_from_records

    manifest = json.loads((channels / "manifest.json").read_text())
    with PeakMemory(tree=True) as memory:
        started = time.perf_counter()
        test = [compact_record(r) for r in iter_json_lines_file(channels / "test" / "data.json")]
        inference = [compact_record(r) for r in iter_json_lines_file(channels / "inference" / "data.json")]
        problems = problems_from_records(test, inference, 16, 2, manifest["cutoff"])
        families = pd.DataFrame(manifest["series"])["family"].to_numpy()
        runs = run_challengers(problems, families, CANDIDATES, 0, global_models_by)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_gb": memory.peak / 1e9, "failed": runs.failed, "candidates": runs.seconds}


def on_spark(channels: Path, out: Path, global_models_by: str, cores: int, series_per_task: int) -> dict:
    from pyspark.sql import SparkSession

    from favorita_assets.aws import glue_script
    from favorita_assets.core.challengers import read_rows, runs_from_rows

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("favorita-challengers-benchmark")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    argv = ["--task", "challengers", "--output_uri", str(out), "--channels_uri", str(channels)]
    argv += ["--candidates", ",".join(CANDIDATES), "--global_models_by", global_models_by]
    args = glue_script.parse_args([*argv, "--series_per_task", str(series_per_task)])
    try:
        with PeakMemory(tree=False) as driver:
            started = time.perf_counter()
            summary = glue_script.challengers_job(args, glue_script.Files())
            seconds = time.perf_counter() - started
    finally:
        spark.stop()
    with PeakMemory(tree=False) as reader:
        before = psutil.Process().memory_info().rss
        started = time.perf_counter()
        runs_from_rows(*read_rows(summary["parts"]), summary["series"], summary["failed"], summary["seconds"])
        read_seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "driver_peak_gb": driver.peak / 1e9,
        "read_back_seconds": read_seconds,
        "read_back_gb": max(0, reader.peak - before) / 1e9,
        "failed": summary["failed"],
        "task_seconds": summary["seconds"],
        "series": summary["series"],
    }


def projection(task_seconds: dict[str, float], n_measured: int, series: int, families: int = 33) -> dict:
    """Glue workers and wall time for ``series`` from the measured task seconds per series: the per-series
    challengers spread over every task; each family's LightGBMs are one task (their cost per series measured,
    times the family's series), so the wall time is at least the largest family's."""
    from favorita_assets.core.challengers import GLOBAL_CANDIDATES

    per_series = sum(s for c, s in task_seconds.items() if c not in GLOBAL_CANDIDATES) / n_measured
    per_family_series = sum(s for c, s in task_seconds.items() if c in GLOBAL_CANDIDATES) / n_measured
    total = (per_series + per_family_series) * series
    family_task = per_family_series * series / families
    # enough workers that the spread work ends with the largest task; Glue's least is 2 G.1X workers
    workers = max(2, math.ceil(total / max(family_task, 1) / GLUE_WORKER_VCPUS))
    wall = GLUE_START_SECONDS + max(family_task, total / (workers * GLUE_WORKER_VCPUS))
    return {
        "series": series,
        "task_hours": total / 3600,
        "largest_task_s": family_task,
        "workers": workers,
        "wall_s": wall,
        "usd": workers * wall / 3600 * GLUE_DPU_HOUR_USD,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--series-per-task", type=int, default=500)
    parser.add_argument("--global-models-by", default="family", choices=("chain", "family"))
    parser.add_argument("--skip-in-process", action="store_true")
    args = parser.parse_args()
    folder = args.workdir / f"x{args.scale}"
    folder.mkdir(parents=True, exist_ok=True)
    result_file = folder / "distributed.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    started = time.perf_counter()
    channels = build_channels(args.scale, folder)
    result.update(scale=args.scale, cores=args.cores, channels_seconds=time.perf_counter() - started)
    result_file.write_text(json.dumps(result, indent=1))
    if not args.skip_in_process:
        result["in_process"] = in_process(channels, args.global_models_by)
        result_file.write_text(json.dumps(result, indent=1))
    spark = on_spark(channels, folder / "out", args.global_models_by, args.cores, args.series_per_task)
    result["spark"] = spark
    result["projection"] = [projection(spark["task_seconds"], spark["series"], n) for n in (33_000, 200_000)]
    result_file.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
