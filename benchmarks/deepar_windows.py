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
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core import baselines, deepar_gluonts, metrics
from favorita_assets.core.cleaning import clean_tables
from favorita_assets.core.deepar_format import build_channels, suggest_likelihood
from favorita_assets.core.evaluation import history_matrix
from favorita_assets.core.features import horizon_features, known_promotions
from favorita_assets.core.sample_data import transactions_as_train
from favorita_assets.core.schema import read_kaggle_csv
from favorita_assets.modeling.config import DeepARConfig

H = 16


def load_tables(data: Path) -> dict[str, pd.DataFrame]:
    tables = {t: read_kaggle_csv(data / f"{t}.csv", t) for t in ("train", "stores", "oil", "holidays_events")}
    tables["test"] = None
    return tables


def write_transactions_data(real_dir: Path, folder: Path, drop_days: int = 0) -> Path:
    """The real transactions as a Kaggle data folder: transactions.csv shaped as a one-family train.csv (sales =
    transactions), with its last ``drop_days`` days left out, beside the real stores, oil and holidays."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("stores", "oil", "holidays_events"):
        shutil.copy(real_dir / f"{name}.csv", folder / f"{name}.csv")
    train = transactions_as_train(read_kaggle_csv(real_dir / "transactions.csv", "transactions"))
    train = train[train["date"] <= train["date"].max() - pd.Timedelta(days=drop_days)]
    train.assign(date=train["date"].dt.strftime("%Y-%m-%d")).to_csv(folder / "train.csv", index=False)
    return folder


def channels_for(tables: dict, cleaned: pd.DataFrame):
    """The channels for the latest cut-off with one 16-day backtest window (how these defaults were chosen)."""
    cutoff = cleaned["date"].max()
    horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=H, freq="D")
    promotions, _ = known_promotions(tables["test"], cleaned, horizon)
    future = horizon_features(
        cleaned[["store_nbr", "family"]], horizon, tables["stores"], tables["holidays_events"], promotions
    )
    return build_channels(cleaned, cutoff, H, future)


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
        actual = np.nan_to_num(history_matrix(channels.test, H)).ravel()
        before = history_matrix(channels.test, 28, cut=H)
        naive = {m: metrics.rmsle(actual, baselines.forecast(m, before, H).ravel()) for m in baselines.BASELINES}
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
                print(
                    f"window {window} {name} seed {seed}: RMSLE {rmsle:.4f} ({seconds:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )

    print("\nDeepAR on the real transactions, 16-day windows (window 0 = the last 16 days); lower RMSLE is better\n")
    print(
        f"| {'window':<6} | {'days':<22} | {'likelihood':<18} | {'seed':>4} | {'RMSLE':>7} | "
        f"{'best naive':>10} | {'below it':>8} | {'train s':>7} |"
    )
    print(f"|{'-' * 8}|{'-' * 24}|{'-' * 20}|{'-' * 6}|{'-' * 9}|{'-' * 12}|{'-' * 10}|{'-' * 9}|")
    for window, span, name, seed, rmsle, naive_rmsle, _, seconds in rows:
        print(
            f"| {window:<6} | {span:<22} | {name:<18} | {seed:>4} | {rmsle:>7.4f} | {naive_rmsle:>10.4f} | "
            f"{1 - rmsle / naive_rmsle:>+8.1%} | {seconds:>7.0f} |"
        )
    print()
    for name in dict.fromkeys(r[2] for r in rows):
        for window in dict.fromkeys(r[0] for r in rows):
            mine = [r for r in rows if r[2] == name and r[0] == window]
            margins = [1 - r[4] / r[5] for r in mine]
            print(
                f"{name}, window {window}: mean RMSLE {np.mean([r[4] for r in mine]):.4f}, "
                f"{min(margins):+.1%} .. {max(margins):+.1%} below the best naive baseline ({mine[0][6]})"
            )


if __name__ == "__main__":
    main()
