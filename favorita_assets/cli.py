"""The `favorita` command: sample-data | run | demo."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from favorita_assets.core.sample_data import KAGGLE_END, KAGGLE_START


def _sample_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stores", type=int, default=54, help="number of stores, 1-54 (default 54)")
    parser.add_argument("--families", type=int, default=33, help="number of product families, 1-33 (default 33)")
    parser.add_argument("--start", default=KAGGLE_START, help=f"first train date (default {KAGGLE_START})")
    parser.add_argument("--end", default=KAGGLE_END, help=f"last train date (default {KAGGLE_END})")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same files")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="favorita", description="Favorita store-sales forecasting platform.")
    sub = parser.add_subparsers(dest="command", required=True)

    sample = sub.add_parser("sample-data", help="write a realistic generated data set in Kaggle's exact schema")
    sample.add_argument("--out", required=True, type=Path, help="folder to write the six CSV files into")
    _sample_data_args(sample)

    run = sub.add_parser("run", help="materialize the whole asset graph in-process on the local backend")
    run.add_argument("--data", type=Path, help="folder with the Kaggle files (default: $FAVORITA_DATA_DIR)")
    run.add_argument("--out", type=Path, default=Path("favorita_out"), help="folder for outputs (default favorita_out)")

    demo = sub.add_parser("demo", help="generate sample data into OUT/data, then run the pipeline on it")
    demo.add_argument("--out", type=Path, default=Path("favorita_out"), help="folder for data and outputs")
    _sample_data_args(demo)
    return parser


def _sample_data(out: Path, args: argparse.Namespace) -> None:
    from favorita_assets.core.sample_data import write_sample_data

    started = time.perf_counter()
    print(f"[favorita] generating sample data ({args.stores} stores x {args.families} families, "
          f"{args.start}..{args.end}, seed {args.seed}) into {out} ...", flush=True)
    paths = write_sample_data(out, args.stores, args.families, args.start, args.end, args.seed)
    print(f"[favorita] wrote {', '.join(p.name for p in paths.values())} in {time.perf_counter() - started:.1f}s")


def _run(data: Path | None, out: Path) -> int:
    from favorita_assets.pipeline import run_pipeline
    from favorita_assets.settings import Settings, SettingsError

    env = dict(os.environ)
    if data is not None:
        env["FAVORITA_DATA_DIR"] = str(data)
    env.setdefault("FAVORITA_STORAGE_DIR", str(out / "storage"))
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        print(f"[favorita] {error}", file=sys.stderr)
        return 2
    print(f"[favorita] data: {settings.data_dir}  storage: {settings.storage_dir}", flush=True)
    started = time.perf_counter()
    report = run_pipeline(settings, log_level="INFO")
    print()
    for asset, meta in report.materialized.items():
        rows = meta.get("rows")
        print(f"  materialized {asset:<22} {'' if rows is None else f'{rows:,} rows'}")
    warned = [c for c in report.failed_checks if c.severity == "WARN"]
    errors = [c for c in report.failed_checks if c.severity != "WARN"]
    passed = sum(c.passed for c in report.checks)
    print(f"  checks: {passed} passed, {len(warned)} warnings, {len(errors)} failed")
    for c in warned + errors:
        print(f"    {c.severity:<5} {c.asset}.{c.check}: {c.description}")
    if not report.success:
        print("\n[favorita] the run failed; earlier outputs are untouched.", file=sys.stderr)
        for failure in report.failures:
            print(f"\n{failure}", file=sys.stderr)
        return 1
    print(f"\n[favorita] done in {time.perf_counter() - started:.1f}s")
    print(f"  cleaned series: {settings.storage_dir / 'processed/cleaned_series/cleaned_series.parquet'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "sample-data":
            _sample_data(args.out, args)
            return 0
        if args.command == "run":
            return _run(args.data, args.out)
        if args.command == "demo":
            _sample_data(args.out / "data", args)
            return _run(args.out / "data", args.out)
    except ValueError as error:  # bad arguments to the generator, e.g. --stores 99
        print(f"[favorita] {error}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
