"""DeepAR on the real transactions, window by window and seed by seed: how robust the backtest margin over the naive
baselines is, and which likelihood fits these series.

Kaggle's transactions.csv is shaped as a one-family train.csv (sales = transactions). Each window is 16 days; window 0
is the last 16 days of the file (the forecast benchmark's backtest window), window k ends 16·k days earlier (the data
after it is dropped, so nothing later is seen). The windows before the last are where the defaults were chosen; the
last one is where they are judged.

    python benchmarks/deepar_windows.py [--real-dir ../shared/favorita] [--windows 0,1,2] [--seeds 0,1,2]
        [--likelihoods auto,negative-binomial,student-T]

Every run uses DeepARConfig's defaults (early stopping included) apart from the likelihood and the seed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core import deepar_gluonts, metrics
from favorita_assets.core.cleaning import clean_tables
from favorita_assets.core.deepar_format import suggest_likelihood
from favorita_assets.core.evaluation import run_backtest
from favorita_assets.modeling.config import DeepARConfig

sys.path.insert(0, str(Path(__file__).parent))
from forecast_benchmark import H, channels_for, load_tables, write_transactions_data  # noqa: E402


def window_channels(real_dir: Path, work: Path, window: int):
    """Channels of the transactions with the last 16·window days dropped."""
    tables = load_tables(write_transactions_data(real_dir, work / f"window_{window}", drop_days=H * window))
    return channels_for(tables, clean_tables(tables))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "favorita")
    parser.add_argument("--windows", default="0,1,2")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--likelihoods", default="auto,negative-binomial")
    args = parser.parse_args()
    if not (args.real_dir / "transactions.csv").exists():
        sys.exit(f"no transactions.csv in {args.real_dir}: pass --real-dir")
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="favorita_deepar_windows_"))
    rows = []
    for window in (int(w) for w in args.windows.split(",")):
        channels = window_channels(args.real_dir, work, window)
        backtest = run_backtest(channels.test, H, None)
        actual = backtest.actual.ravel()
        naive = {m: metrics.rmsle(actual, f["mean"].ravel()) for m, f in backtest.forecasts.items()}
        best = min(naive, key=naive.get)
        days = channels.horizon - pd.Timedelta(days=H)
        span = f"{days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d}"
        auto, _ = suggest_likelihood(channels.train)
        for likelihood in args.likelihoods.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                hp = DeepARConfig(likelihood=likelihood, seed=seed).hyperparameters(H, auto_likelihood=auto)
                started = time.perf_counter()
                predictor = deepar_gluonts.train(channels.train, hp, channels.encoding.cardinality, seed=seed)
                seconds = time.perf_counter() - started
                forecast = deepar_gluonts.predict(predictor, channels.test, (0.5,), cut=H)
                rmsle = metrics.rmsle(actual, np.vstack([f["mean"] for f in forecast]).ravel())
                name = f"auto ({hp['likelihood']})" if likelihood == "auto" else likelihood
                rows.append((window, span, name, seed, rmsle, naive[best], best, seconds))
                print(f"window {window} {name} seed {seed}: RMSLE {rmsle:.4f} ({seconds:.0f} s)", file=sys.stderr, flush=True)

    print("\nDeepAR on the real transactions, 16-day windows (window 0 = the last 16 days); lower RMSLE is better\n")
    print(f"| {'window':<6} | {'days':<22} | {'likelihood':<18} | {'seed':>4} | {'RMSLE':>7} | {'best naive':>10} | {'below it':>8} | {'train s':>7} |")
    print(f"|{'-' * 8}|{'-' * 24}|{'-' * 20}|{'-' * 6}|{'-' * 9}|{'-' * 12}|{'-' * 10}|{'-' * 9}|")
    for window, span, name, seed, rmsle, naive_rmsle, _, seconds in rows:
        print(f"| {window:<6} | {span:<22} | {name:<18} | {seed:>4} | {rmsle:>7.4f} | {naive_rmsle:>10.4f} | "
              f"{1 - rmsle / naive_rmsle:>+8.1%} | {seconds:>7.0f} |")  # fmt: skip
    print()
    for name in dict.fromkeys(r[2] for r in rows):
        for window in dict.fromkeys(r[0] for r in rows):
            mine = [r for r in rows if r[2] == name and r[0] == window]
            margins = [1 - r[4] / r[5] for r in mine]
            print(f"{name}, window {window}: mean RMSLE {np.mean([r[4] for r in mine]):.4f}, "
                  f"{min(margins):+.1%} .. {max(margins):+.1%} below the best naive baseline ({mine[0][6]})")


if __name__ == "__main__":
    main()
