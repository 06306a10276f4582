"""Scale benchmark: the whole pipeline (`favorita run`'s two runs) on generated data at 1x, 4x and 10x Kaggle's size,
one after the other in one invocation, with wall time and peak resident memory per stage and for the whole run.

A scale of N is N x 54 stores with all 33 families over Kaggle's dates (1x: 1,782 series, 3.0 M train rows). Each
scale runs in a child process of its own, so one scale's memory never counts against the next; the parent samples
the memory of the child's process tree (the sum of PSS, so pages shared with forked workers count once) every
0.25 s or more (reading PSS costs time: the sampler keeps to a tenth of one core),
and the child's Dagster events give each step's start and end, so a stage's peak is the highest sample taken while
that step ran. A child whose memory passes --memory-limit-gb is stopped and reported as such, rather than taking the
machine down.

Beside the pipeline, the DeepAR channels are built both ways from the same cleaned series, side by side in the child
(the baseline holds every record as Python lists, as `build_channels` + `to_json_lines` do; the pipeline streams them
series by series to files with `write_channels`), RSS added over the start of each, sampled every 5 ms.

    python benchmarks/scale_benchmark.py [--scales 1 4 10] [--epochs 3] [--workdir DIR] [--memory-limit-gb 22]
                                         [--before-tree TREE]  # also 1x on an earlier commit's code, as the baseline
                                         [--pipeline-only]     # without the side-by-side channels
                                         [--distributed]       # only the backtest's challengers: in-process
                                                               # beside local Spark (distributed_backtest.py)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))

STORES_PER_SCALE = 54


def tree_memory(process: psutil.Process) -> int:
    """The memory the process tree holds: the sum of each process's PSS (proportional set size: a page shared by
    forked workers, e.g. statsforecast's, counts once in all, not once per process as RSS would)."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_full_info().pss
    return total


def stage_group(step: str) -> str:
    """A Dagster step's stage in the table: the six raw tables together, each asset with its checks."""
    if step.startswith("raw_"):
        return "land and check the raw files"
    if step.startswith("deepar_training_data"):
        return "deepar_training_data"
    return step.removesuffix("_checks")


def run_scale(
    scale: int,
    workdir: Path,
    epochs: int,
    limit: float,
    families: int,
    tree: Path | None = None,
    pipeline_only: bool = False,
) -> dict:
    folder = workdir / (f"x{scale}" if tree is None else f"x{scale}-before")
    folder.mkdir(parents=True, exist_ok=True)
    result_file = folder / "result.json"
    result_file.unlink(missing_ok=True)
    command = [
        sys.executable,
        __file__,
        "--child",
        str(folder),
        "--scale",
        str(scale),
        "--epochs",
        str(epochs),
        "--families",
        str(families),
        *(["--pipeline-only"] if pipeline_only else []),
    ]
    env = {
        k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FAVORITA_DATA_DIR", "FAVORITA_STORAGE_DIR")
    }
    if tree is not None:  # the code as it was (a git worktree of an earlier commit): its favorita_assets first
        env["PYTHONPATH"] = str(tree)
        command.append("--before")
    started = time.time()
    with open(folder / "child.log", "wb") as log:  # the child holds its own copy of the file
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    process = psutil.Process(child.pid)
    samples: list[tuple[float, int]] = []
    stopped_for_memory = False
    while child.poll() is None:
        began = time.perf_counter()
        rss = tree_memory(process)
        samples.append((time.time(), rss))
        cost = time.perf_counter() - began  # reading PSS walks the page tables: at most a tenth of one core on it
        if rss > limit * 2**30:
            stopped_for_memory = True
            for p in [*process.children(recursive=True), process]:
                p.kill()
            break
        time.sleep(max(0.25, 9 * cost))
    child.wait()
    wall = time.time() - started
    out = json.loads(result_file.read_text()) if result_file.exists() else {}
    out.update(
        scale=f"{scale}x" if tree is None else f"{scale}x before",
        wall=wall,
        peak=max((r for _, r in samples), default=0),
        returncode=child.returncode,
        stopped_for_memory=stopped_for_memory,
    )
    spans: dict[str, list[float]] = {}
    for name, (a, b) in out.get("stages", {}).items():
        group = stage_group(name)
        if group in spans:
            spans[group] = [min(spans[group][0], a), max(spans[group][1], b)]
        else:
            spans[group] = [a, b]
    stages = {}
    for name, (a, b) in spans.items():
        inside = [r for t, r in samples if a <= t <= b]
        stages[name] = (b - a, max(inside) if inside else 0)
    out["stage_peaks"] = stages
    if spans:  # the whole run: from generating the data to the last step (not the side-by-side channels after it)
        a, b = min(v[0] for v in spans.values()), max(v[1] for v in spans.values())
        out["run"] = (b - a, max((r for t, r in samples if a <= t <= b), default=0))
    (folder / "measured.json").write_text(json.dumps(out))
    return out


def child(folder: Path, scale: int, epochs: int, families: int, before: bool) -> None:
    """Generate the data, run the pipeline, build the channels both ways (not for the code as it was, which has
    no streamed path); write result.json."""
    from dagster import DagsterEventType, DagsterInstance

    from favorita_assets.core.sample_data import write_sample_data
    from favorita_assets.pipeline import run_config, run_pipeline
    from favorita_assets.settings import Settings

    stages: dict[str, list[float]] = {}
    t0 = time.time()
    write_sample_data(folder / "data", STORES_PER_SCALE * scale, families, seed=0)
    stages["sample data"] = [t0, time.time()]
    os.environ["FAVORITA_DATA_DIR"] = str(folder / "data")
    os.environ["FAVORITA_STORAGE_DIR"] = str(folder / "storage")
    instance = DagsterInstance.ephemeral()
    report = run_pipeline(Settings.from_env(), config=run_config(epochs=epochs), instance=instance, log_level="WARNING")
    steps: dict[str, list[float]] = {}
    for run_id in report.run_ids:
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                steps[event.step_key] = [record.timestamp, record.timestamp]
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                steps.setdefault(event.step_key, [record.timestamp, record.timestamp])[1] = record.timestamp
    stages.update(steps)
    rows = int(report.materialized.get("raw_sales", {}).get("rows", 0) or 0)
    series = int(report.materialized.get("deepar_training_data", {}).get("test_series", 0) or 0)

    side: list = []

    def save(phase: str) -> None:  # after each part: a child stopped for memory later still leaves what it measured
        (folder / "result.json").write_text(
            json.dumps(
                {
                    "success": report.success,
                    "failures": report.failures,
                    "rows": rows,
                    "series": series,
                    "stages": stages,
                    "side_by_side": side,
                    "phase": phase,
                }
            )
        )

    save("pipeline done")
    if report.success and not before:
        import pandas as pd
        from _measure import measured

        from favorita_assets.core.deepar_format import build_channels, to_json_lines, write_channels
        from favorita_assets.core.features import horizon_features, known_promotions, recurring_closures
        from favorita_assets.ingest.assets import read_landed
        from favorita_assets.resources.cleaned_series import read_cleaned_series
        from favorita_assets.resources.storage import LocalStorage
        from favorita_assets.storage_keys import training_manifest

        storage = LocalStorage(root=str(folder / "storage"))
        manifest = storage.read_json(training_manifest(report.partition_key))
        cutoff, h, k = pd.Timestamp(manifest["cutoff"]), manifest["prediction_length"], manifest["backtest_windows"]
        cleaned = read_cleaned_series(storage)
        cleaned = cleaned[cleaned["date"] <= cutoff]
        horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=h, freq="D")
        promotions, _ = known_promotions(read_landed(storage, "test"), cleaned, horizon)
        future = horizon_features(
            cleaned[["store_nbr", "family"]],
            horizon,
            read_landed(storage, "stores"),
            read_landed(storage, "holidays_events"),
            promotions,
            recurring_closures(cleaned),
        )
        with tempfile.TemporaryDirectory() as tmp:
            with measured(side, "channels, streamed to files (pipeline)") as box:
                files = write_channels(cleaned, cutoff, h, future, tmp, backtest_windows=k)
                box["rows"] = sum(files.sizes.values())
            save("streamed channels measured")
            with measured(side, "channels, every record in memory (baseline)") as box:
                whole = build_channels(cleaned, cutoff, h, future, backtest_windows=k)
                blobs = [to_json_lines(getattr(whole, n)) for n in ("train", "test", "inference")]
                box["rows"] = sum(len(b) for b in blobs)
                del whole
            same = all(
                files.paths[n].read_bytes() == b for n, b in zip(("train", "test", "inference"), blobs, strict=True)
            )
        side.append(("streamed bytes equal the baseline's", same, 0, 0))
    save("done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--families", type=int, default=33)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--memory-limit-gb", type=float, default=22.0)
    parser.add_argument("--print-only", action="store_true", help="print the table of an earlier run in --workdir")
    parser.add_argument(
        "--before-tree",
        type=Path,
        metavar="TREE",
        help="also run the first scale on the code in TREE (a "
        "git worktree of an earlier commit: git worktree add /tmp/before HEAD~1), as the baseline",
    )
    parser.add_argument("--pipeline-only", action="store_true", help="skip the side-by-side channels (measured apart)")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="only the backtest's challengers, in-process beside local Spark on --cores cores, with a projection "
        "for larger chains (benchmarks/distributed_backtest.py)",
    )
    parser.add_argument("--cores", type=int, default=2, help="local Spark's cores (--distributed)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--before", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.scale, args.epochs, args.families, args.before or args.pipeline_only)
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="favorita-scale-"))
    if args.distributed:
        distributed(args.scales, workdir, args.cores, args.print_only)
        return
    results = []
    if args.before_tree and not args.print_only:
        out = run_scale(
            args.scales[0], workdir, args.epochs, args.memory_limit_gb, args.families, tree=args.before_tree
        )
        results.append(out)
        print(f"{out['scale']} done in {out['wall']:.0f} s, peak {out['peak'] / 2**30:.1f} GB", flush=True)
    elif args.before_tree:
        results.append(json.loads((workdir / f"x{args.scales[0]}-before" / "measured.json").read_text()))
    for scale in args.scales:
        if args.print_only:
            results.append(json.loads((workdir / f"x{scale}" / "measured.json").read_text()))
            continue
        out = run_scale(
            scale, workdir, args.epochs, args.memory_limit_gb, args.families, pipeline_only=args.pipeline_only
        )
        results.append(out)
        state = ("ok" if out.get("success") else f"failed (exit {out['returncode']}): {out.get('failures')}") + (
            f"; stopped over the memory limit after: {out.get('phase', 'nothing')}" if out["stopped_for_memory"] else ""
        )
        print(f"{out['scale']} done in {out['wall']:.0f} s, peak {out['peak'] / 2**30:.1f} GB: {state}", flush=True)
    print_table(results, args.epochs)


def distributed(scales: list[int], workdir: Path, cores: int, print_only: bool) -> None:
    """The "distributed" column: each scale in a child process of its own (distributed_backtest.py), then the table."""
    script = Path(__file__).parent / "distributed_backtest.py"
    for scale in scales:
        if not print_only:
            command = [sys.executable, str(script), "--scale", str(scale), "--workdir", str(workdir)]
            subprocess.run([*command, "--cores", str(cores)], check=True)
    results = [json.loads((workdir / f"x{s}" / "distributed.json").read_text()) for s in scales]
    print(f"\nthe backtest's challengers (LightGBMs per family), local Spark on {cores} cores; wall s / peak GB")
    print("| scale (series) | in-process (process tree) | distributed: Spark job / its driver | read back in Dagster |")
    print("|---|---|---|---|")
    for r in results:
        here, spark = r.get("in_process"), r["spark"]
        print(
            f"| {r['scale']}x ({spark['series']:,}) | "
            + (f"{here['seconds']:.0f} s / {here['peak_gb']:.1f} GB" if here else "—")
            + f" | {spark['seconds']:.0f} s / {spark['driver_peak_gb']:.2f} GB"
            + f" | {spark['read_back_seconds']:.1f} s / {spark['read_back_gb']:.2f} GB |"
        )
    print("\nprojected on Glue 5 (G.1X workers, 4 tasks each), from the Spark tasks' seconds per series")
    print("| series | task hours | largest task (one family's LightGBMs) | workers | wall | cost |")
    print("|---|---|---|---|---|---|")
    for p in results[-1]["projection"]:
        print(
            f"| {p['series']:,} | {p['task_hours']:.1f} h | {p['largest_task_s'] / 60:.0f} min | {p['workers']} | "
            f"{p['wall_s'] / 60:.0f} min | ${p['usd']:.2f} |"
        )


def print_table(results: list[dict], epochs: int) -> None:
    print(
        f"\nfavorita pipeline, --epochs {epochs}, {os.cpu_count()} cores; "
        "wall s / peak memory GB (PSS of the process tree)"
    )
    names = []
    for out in results:
        names += [n for n in out["stage_peaks"] if n not in names]
    header = "| stage | " + " | ".join(o["scale"] for o in results) + " |"
    print(header + "\n|---|" + "---|" * len(results))
    print(
        "| train rows / series | "
        + " | ".join(f"{o.get('rows', 0) / 1e6:.1f} M / {o.get('series', 0):,}" for o in results)
        + " |"
    )
    for name in names:
        cells = []
        for o in results:
            wall, peak = o["stage_peaks"].get(name, (None, None))
            cells.append(
                "—" if wall is None else f"{wall:.0f} s / " + (f"{peak / 2**30:.1f} GB" if peak else "(too short)")
            )
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        "| **whole run** | "
        + " | ".join(f"{o['run'][0]:.0f} s / {o['run'][1] / 2**30:.1f} GB" if o.get("run") else "—" for o in results)
        + " |"
    )
    if any(o.get("side_by_side") for o in results):
        print("\nDeepAR channels from the same cleaned series, side by side in one process (s / GB added / bytes)")
        for o in results:
            for stage, size, seconds, peak in o.get("side_by_side", []):
                value = (
                    size if isinstance(size, bool) else f"{seconds:.1f} s / {peak / 1024:.2f} GB / {size / 1e6:,.0f} MB"
                )
                print(f"| {o['scale']} | {stage} | {value} |")


if __name__ == "__main__":
    main()
