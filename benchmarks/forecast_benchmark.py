"""Forecast benchmark: every candidate and the published mix side by side, on three data sets, in one run:

  (a) the generated full-size data (54 stores x 33 families): `favorita run` end to end, its metrics.json;
  (b) the real store transactions (Kaggle's transactions.csv as a one-family train.csv, 54 series);
  (c) the all-stores total of the real transactions, a single series.

(b) and (c) run the product's own code in this process: the channels with K backtest windows, DeepAR trained on the
train channel and fed each window's history, every challenger, the cross-conformal bands and the per-family choice.
For (a), `favorita run` of this checkout runs beside `favorita run` of a baseline commit (--baseline-ref, default
the commit before the challengers) on the same data, for wall time and peak memory.

    python benchmarks/forecast_benchmark.py [--real-dir ../shared/favorita] [--windows 3] [--epochs N]
                                            [--skip-full] [--baseline-ref REF | --no-baseline]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core import deepar_gluonts
from favorita_assets.core.candidates import CANDIDATES, DEEPAR, LABELS, challenger
from favorita_assets.core.cleaning import clean_tables
from favorita_assets.core.deepar_format import build_channels, suggest_likelihood, window_instances
from favorita_assets.core.evaluation import QUANTILES, evaluate, problems_from_records
from favorita_assets.core.features import horizon_features, known_promotions, recurring_closures
from favorita_assets.core.sample_data import transactions_as_train, write_sample_data
from favorita_assets.core.schema import read_kaggle_csv
from favorita_assets.modeling.config import DeepARConfig

H = 16
ROOT = Path(__file__).resolve().parents[1]


def real_tables(real_dir: Path, total: bool) -> dict[str, pd.DataFrame]:
    tables = {t: read_kaggle_csv(real_dir / f"{t}.csv", t) for t in ("stores", "oil", "holidays_events")}
    train = transactions_as_train(read_kaggle_csv(real_dir / "transactions.csv", "transactions"))
    if total:  # one series: every store's transactions summed, under store 1's metadata
        summed = train.groupby("date", as_index=False)["sales"].sum()
        train = summed.assign(id=np.arange(len(summed)), store_nbr=1, family="TRANSACTIONS", onpromotion=0)
        train = train[["id", "date", "store_nbr", "family", "sales", "onpromotion"]]
        tables["stores"] = tables["stores"][tables["stores"]["store_nbr"] == 1]
    tables["train"] = train
    tables["test"] = None
    return tables


def backtest(tables: dict, windows: int, config: DeepARConfig) -> tuple[dict, dict]:
    """The product's evaluation on ``tables``: scores per candidate and for the published mix, and seconds."""
    cleaned = clean_tables(tables)
    cutoff = cleaned["date"].max()
    horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=H, freq="D")
    promotions, _ = known_promotions(tables["test"], cleaned, horizon)
    closures = recurring_closures(cleaned)
    future = horizon_features(
        cleaned[["store_nbr", "family"]], horizon, tables["stores"], tables["holidays_events"], promotions, closures
    )
    channels = build_channels(cleaned, cutoff, H, future, backtest_windows=windows)
    likelihood, _ = suggest_likelihood(channels.train)
    hp = config.hyperparameters(H, auto_likelihood=likelihood)
    seconds = {}
    started = time.perf_counter()
    predictor = deepar_gluonts.train(channels.train, hp, channels.encoding.cardinality, seed=config.seed)
    predictions = deepar_gluonts.predict(predictor, window_instances(channels.test, H, windows), QUANTILES)
    n = len(channels.test)
    forecasts = {
        DEEPAR: {
            k: [np.vstack([p[k] for p in predictions[w * n : (w + 1) * n]]) for w in range(windows)]
            for k in ("mean", *QUANTILES)
        }
    }
    seconds[DEEPAR] = time.perf_counter() - started
    problems = problems_from_records(channels.test, channels.inference, H, windows, cutoff)
    for name in CANDIDATES[1:]:
        started = time.perf_counter()
        forecasts[name] = challenger(name, seed=config.seed).forecast_all(problems)[:windows]
        seconds[name] = time.perf_counter() - started
    ev = evaluate(channels.test, H, windows, cutoff, channels.series["family"].to_numpy(), forecasts)
    rows = {name: {"overall": s["overall"], "windows": s["windows"]} for name, s in ev.scores.items()}
    rows["published"] = {"overall": ev.published["overall"], "windows": ev.published["windows"]}
    rows["published (nested)"] = ev.published["nested"]
    return rows, seconds


def run_cli(source: Path, data: Path, out: Path, epochs: int | None) -> tuple[float, float]:
    """`favorita run` of the checkout at ``source``, in a subprocess: wall seconds and the peak RSS in MB."""
    extra = ["--epochs", str(epochs)] if epochs else []
    env = {**os.environ, "PYTHONPATH": str(source)}
    for name in ("DAGSTER_HOME", "FAVORITA_DATA_DIR", "FAVORITA_STORAGE_DIR"):
        env.pop(name, None)
    script = (
        f"import resource, subprocess, sys; r = subprocess.run([sys.executable, '-c', 'from favorita_assets.cli "
        f"import main; raise SystemExit(main())', 'run', '--data', {str(data)!r}, '--out', {str(out)!r}, "
        f"*{extra!r}], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=source, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, int(done.stdout.split()[-1]) / 1024


def baseline_checkout(ref: str, work: Path) -> Path:
    target = work / "baseline_checkout"
    if not target.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(target), ref], check=True, capture_output=True
        )
    return target


def print_scores(title: str, rows: dict, seconds: dict | None = None) -> None:
    print(f"\n{title}\n")
    print(
        f"| {'candidate':<58} | {'RMSLE':>6} | {'per window':>20} | {'WAPE':>6} | {'MASE':>6} | {'wQL':>6} | "
        f"{'P10-P90':>7} | {'s':>6} |"
    )
    print(f"|{'-' * 60}|{'-' * 8}|{'-' * 22}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 8}|")
    for name, r in rows.items():
        if r is None:
            continue
        o = r["overall"]
        per = " ".join(f"{w['rmsle']:.3f}" for w in r["windows"])
        label = LABELS.get(name, name)
        sec = f"{seconds[name]:.1f}" if seconds and name in seconds else ""
        print(
            f"| {label:<58} | {o['rmsle']:>6.4f} | {per:>20} | {o['wape']:>6.4f} | {o['mase']:>6.3f} | "
            f"{o['mean_wql']:>6.4f} | {o['coverage']:>7.2f} | {sec:>6} |"
        )
    candidates = {k: v["overall"]["rmsle"] for k, v in rows.items() if k in CANDIDATES}
    best = min(candidates, key=candidates.get)
    nested = rows.get("published (nested)")
    print(
        f"\nbest single candidate: {LABELS[best]} ({candidates[best]:.4f}); published mix "
        f"{rows['published']['overall']['rmsle']:.4f}"
        + (f", nested {nested['overall']['rmsle']:.4f}" if nested else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "favorita")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="DeepAR epochs (default: DeepARConfig's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-full", action="store_true", help="skip (a), the full-size `favorita run`")
    parser.add_argument("--baseline-ref", default="e5e2b28", help="the commit `favorita run` is compared with")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="favorita_forecast_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    config = DeepARConfig(seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    print(f"Forecast benchmark, {os.cpu_count()} cores, {args.windows} backtest windows of {H} days")
    results = []
    if (args.real_dir / "transactions.csv").exists():
        for total, title in (
            (False, "(b) real transactions, 54 stores"),
            (True, "(c) real transactions, all-stores total"),
        ):
            rows, seconds = backtest(real_tables(args.real_dir, total), args.windows, config)
            print_scores(title, rows, seconds)
            results.append((title, rows))
    else:
        print(f"(real transactions skipped: no transactions.csv in {args.real_dir})")
    if not args.skip_full:
        data = work / "generated"
        if not (data / "train.csv").exists():
            write_sample_data(data)
        timings = []
        if not args.no_baseline:
            base = baseline_checkout(args.baseline_ref, work)
            timings.append((f"baseline {args.baseline_ref}", *run_cli(base, data, work / "run_baseline", args.epochs)))
        timings.append(("this checkout", *run_cli(ROOT, data, work / "run_new", args.epochs)))
        import json

        metrics = json.loads((work / "run_new" / "metrics.json").read_text())
        rows = {name: {"overall": c["overall"], "windows": c["windows"]} for name, c in metrics["candidates"].items()}
        rows["published"] = metrics["published"]
        rows["published (nested)"] = metrics["published"]["nested"]
        print_scores(
            "(a) generated full-size data (1,782 series), from `favorita run`'s metrics.json",
            rows,
            {k: v["seconds"] for k, v in metrics["candidates"].items() if v.get("seconds") is not None},
        )
        print("\n`favorita run` on the full-size generated data, one after the other:\n")
        print(f"| {'code':<24} | {'wall s':>7} | {'peak RSS MB':>11} |\n|{'-' * 26}|{'-' * 9}|{'-' * 13}|")
        for name, seconds, peak in timings:
            print(f"| {name:<24} | {seconds:>7.1f} | {peak:>11,.0f} |")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)


if __name__ == "__main__":
    main()
