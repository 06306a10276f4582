"""Forecast benchmark: stage timings and memory on the full-size generated data, DeepAR training through the
project's JSON Lines path next to GluonTS DeepAR called directly, and backtest accuracy of DeepAR next to the two
baselines, statsforecast AutoETS and an mlforecast LightGBM model, on the generated data and on the real
transactions (Kaggle's transactions.csv shaped as a one-family train.csv).

    python benchmarks/forecast_benchmark.py [--real-dir ../shared/favorita] [--epochs 20] [--skip-full] [--skip-run]

Needs the bench extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core import deepar_gluonts, metrics
from favorita_assets.core.cleaning import clean_tables
from favorita_assets.core.deepar_format import build_channels, read_json_lines, suggest_likelihood, to_json_lines
from favorita_assets.core.evaluation import QUANTILES, run_backtest
from favorita_assets.core.features import horizon_features, known_promotions
from favorita_assets.core.sample_data import transactions_as_train, write_sample_data
from favorita_assets.core.schema import read_kaggle_csv
from favorita_assets.modeling.config import DeepARConfig

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measured  # noqa: E402

H = 16
SHOWN = ("likelihood", "epochs", "early_stopping_patience", "num_cells", "num_layers", "context_length", "mini_batch_size", "learning_rate")
HYPERPARAMETERS: dict[str, dict] = {}  # per data set, as resolved


def load_tables(data: Path) -> dict[str, pd.DataFrame]:
    tables = {t: read_kaggle_csv(data / f"{t}.csv", t) for t in ("train", "stores", "oil", "holidays_events")}
    tables["test"] = read_kaggle_csv(data / "test.csv", "test") if (data / "test.csv").exists() else None
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
    """Exactly what the deepar_training_data asset builds for the latest cut-off."""
    cutoff = cleaned["date"].max()
    horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=H, freq="D")
    promotions, _ = known_promotions(tables["test"], cleaned, horizon)
    future = horizon_features(cleaned[["store_nbr", "family"]], horizon, tables["stores"], tables["holidays_events"], promotions)
    return build_channels(cleaned, cutoff, H, future)


def direct_gluonts_train(cleaned: pd.DataFrame, channels, hp: dict, seed: int):
    """GluonTS DeepAR called directly: ListDataset built from the cleaned frame in memory, no JSON involved."""
    import lightning
    from gluonts.dataset.common import ListDataset
    from gluonts.torch.model.deepar import DeepAREstimator

    cutoff = cleaned["date"].max() - pd.Timedelta(days=H)
    part = cleaned[cleaned["date"] <= cutoff].sort_values(["store_nbr", "family", "date"])
    entries = []
    for (store, family), g in part.groupby(["store_nbr", "family"], observed=True, sort=True):
        target = g["sales"].to_numpy(dtype=float).copy()
        target[g["store_closed"].to_numpy()] = np.nan
        if not np.isfinite(target).any():
            continue
        feats = np.vstack([np.log1p(g["onpromotion"].to_numpy(float)), g["is_holiday"].to_numpy(float),
                           g["is_event"].to_numpy(float), g["is_payday"].to_numpy(float),
                           g["store_closed"].to_numpy(float)]).astype(np.float32)  # fmt: skip
        cat = channels.encoding.codes(store, family, g["store_type"].iloc[0], g["cluster"].iloc[0])
        entries.append({"start": g["date"].iloc[0], "target": target, "feat_static_cat": cat, "feat_dynamic_real": feats})
    callbacks = []
    if hp["early_stopping_patience"]:  # the same callback the project adds
        callbacks.append(lightning.pytorch.callbacks.EarlyStopping(monitor="train_loss", patience=hp["early_stopping_patience"]))
    estimator = DeepAREstimator(
        freq="D", prediction_length=H, context_length=hp["context_length"], num_layers=hp["num_layers"],
        hidden_size=hp["num_cells"], lr=hp["learning_rate"], dropout_rate=hp["dropout_rate"], num_feat_dynamic_real=5,
        num_feat_static_cat=4, cardinality=channels.encoding.cardinality,
        embedding_dimension=[hp["embedding_dimension"]] * 4, distr_output=deepar_gluonts._distribution(hp["likelihood"]),
        batch_size=hp["mini_batch_size"],
        num_batches_per_epoch=max(deepar_gluonts.MIN_BATCHES_PER_EPOCH, -(-len(entries) // hp["mini_batch_size"])),
        trainer_kwargs={"max_epochs": hp["epochs"], "enable_progress_bar": False, "enable_model_summary": False,
                        "logger": False, "deterministic": True, "default_root_dir": tempfile.mkdtemp(), "callbacks": callbacks},
    )  # fmt: skip
    lightning.seed_everything(seed, workers=True, verbose=False)
    with deepar_gluonts._no_distribution_validation():
        return estimator.train(ListDataset(entries, freq="D"), cache_data=True)


def long_history(cleaned: pd.DataFrame, cutoff: pd.Timestamp, days: int = 730) -> pd.DataFrame:
    part = cleaned[(cleaned["date"] <= cutoff) & (cleaned["date"] > cutoff - pd.Timedelta(days=days))]
    return pd.DataFrame({"unique_id": part["store_nbr"].astype(str) + "|" + part["family"].astype(str),
                         "ds": part["date"], "y": part["sales"].to_numpy(float),
                         "onpromotion": part["onpromotion"].to_numpy(float),
                         "is_holiday": part["is_holiday"].to_numpy(float)})  # fmt: skip


def autoets(cleaned: pd.DataFrame, series: pd.DataFrame) -> np.ndarray:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    cutoff = cleaned["date"].max() - pd.Timedelta(days=H)
    df = long_history(cleaned, cutoff)[["unique_id", "ds", "y"]]
    sf = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=os.cpu_count() or 1)
    out = sf.forecast(df=df, h=H).reset_index()
    return _matrix(out, "AutoETS", series)


def lightgbm(cleaned: pd.DataFrame, series: pd.DataFrame) -> np.ndarray:
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    cutoff = cleaned["date"].max() - pd.Timedelta(days=H)
    df = long_history(cleaned, cutoff)
    df["y"] = np.log1p(df["y"])  # fit on log1p: the scale RMSLE scores
    future = long_history(cleaned, cleaned["date"].max(), days=H)
    future = future[future["ds"] > cutoff].drop(columns="y")
    model = MLForecast(
        models={"LightGBM": lgb.LGBMRegressor(n_estimators=300, learning_rate=0.05, num_leaves=63, verbose=-1, random_state=0)},
        freq="D", lags=[1, 7, 14, 28], lag_transforms={7: [RollingMean(window_size=7), RollingMean(window_size=28)]},
        date_features=["dayofweek", "day", "month"], num_threads=os.cpu_count() or 1,
    )  # fmt: skip
    model.fit(df, static_features=[])
    out = model.predict(h=H, X_df=future)
    out["LightGBM"] = np.expm1(out["LightGBM"]).clip(lower=0)
    return _matrix(out, "LightGBM", series)


def _matrix(frame: pd.DataFrame, column: str, series: pd.DataFrame) -> np.ndarray:
    ids = series["store_nbr"].astype(str) + "|" + series["family"].astype(str)
    wide = frame.pivot(index="unique_id", columns="ds", values=column)
    return wide.reindex(ids.to_numpy()).fillna(0).to_numpy()


def accuracy_and_timings(
    name: str, data: Path, work: Path, config: DeepARConfig, timings: list, training_only: bool = False
) -> list:
    with measured(timings, f"{name}: read + clean") as box:
        tables = load_tables(data)
        cleaned = clean_tables(tables)
        box["rows"] = len(tables["train"])
    with measured(timings, f"{name}: DeepAR channels (build + JSON)") as box:
        channels = channels_for(tables, cleaned)
        train_bytes = to_json_lines(channels.train)
        (work / f"{name}_train.json").write_bytes(train_bytes)
        box["rows"] = len(channels.test)
    likelihood, small_share = suggest_likelihood(channels.train)
    hp = config.hyperparameters(H, auto_likelihood=likelihood)
    seed = config.seed
    HYPERPARAMETERS[name] = {**{k: hp[k] for k in SHOWN}, "small_count_share": round(small_share, 3)}
    if name == "generated":
        # Fair timing: warm torch up first, then ABBA order, best of two each; ours includes reading the JSON Lines.
        deepar_gluonts.train(channels.train[:64], {**hp, "epochs": 1}, channels.encoding.cardinality, seed=seed)
        runs: dict[str, list[float]] = {"project": [], "direct": []}
        for which in ("project", "direct", "direct", "project"):
            started = time.perf_counter()
            if which == "project":  # what LocalDeepAR does: stream the file's records into the trainer
                lines = (work / f"{name}_train.json").read_bytes()
                predictor = deepar_gluonts.train(read_json_lines(lines), hp, channels.encoding.cardinality, seed=seed)
            else:
                direct_gluonts_train(cleaned, channels, hp, seed)
            runs[which].append(time.perf_counter() - started)
        n_train = len(channels.train)
        timings.append((f"{name}: train DeepAR, project (JSON Lines), best of 2", n_train, min(runs["project"]), 0.0))
        timings.append((f"{name}: train DeepAR, GluonTS directly, best of 2", n_train, min(runs["direct"]), 0.0))
        timings.append((f"{name}: training time ratio project / direct", None, min(runs["project"]) / min(runs["direct"]), 0.0))
    else:
        with measured(timings, f"{name}: train DeepAR, project (JSON Lines)") as box:
            lines = (work / f"{name}_train.json").read_bytes()
            predictor = deepar_gluonts.train(read_json_lines(lines), hp, channels.encoding.cardinality, seed=seed)
            box["rows"] = len(channels.train)
    if training_only:
        return []
    with measured(timings, f"{name}: backtest forecasts, DeepAR") as box:
        deepar = deepar_gluonts.predict(predictor, channels.test, QUANTILES, cut=H)
        box["rows"] = len(deepar)
    backtest = run_backtest(channels.test, H, deepar)
    points = {m: f["mean"] for m, f in backtest.forecasts.items()}
    with measured(timings, f"{name}: AutoETS fit + forecast") as box:
        points["AutoETS (statsforecast)"] = autoets(cleaned, channels.series)
        box["rows"] = len(channels.series)
    with measured(timings, f"{name}: LightGBM fit + forecast") as box:
        points["LightGBM (mlforecast)"] = lightgbm(cleaned, channels.series)
        box["rows"] = len(channels.series)
    actual = backtest.actual
    rows = []
    for method, f in points.items():
        rows.append((name, method, metrics.rmsle(actual.ravel(), f.ravel()), metrics.wape(actual.ravel(), f.ravel())))
    return rows


def run_cli(data: Path, out: Path, epochs: int | None) -> tuple[float, float]:
    started = time.perf_counter()
    command = Path(sys.executable).with_name("favorita")  # the console script of this environment
    extra = ["--epochs", str(epochs)] if epochs else []
    subprocess.run([str(command if command.exists() else shutil.which("favorita")), "run", "--data", str(data), "--out", str(out),
                    *extra], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "favorita")
    parser.add_argument("--epochs", type=int, default=None, help="default: DeepARConfig's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-full", action="store_true", help="skip the full-size generated data")
    parser.add_argument("--skip-run", action="store_true", help="skip `favorita run` end to end")
    parser.add_argument("--training-only", action="store_true",
                        help="only the training-time comparison on the generated data (reuses WORKDIR/generated)")  # fmt: skip
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    for name in ("lightning.pytorch", "lightning.fabric"):  # the direct path's checkpoint chatter, as the project hushes it
        logging.getLogger(name).setLevel(logging.WARNING)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="favorita_forecast_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    # The product's defaults (likelihood "auto" is resolved per data set); both training paths get the same early
    # stopping callback, so, deterministic on the same data, they stop at the same epoch.
    config = DeepARConfig(seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    timings: list = []
    accuracy: list = []

    if not args.skip_full:
        data = work / "generated"
        if not (args.training_only and (data / "train.csv").exists()):
            with measured(timings, "generated: write sample data (54 x 33)") as box:
                write_sample_data(data)
                box["rows"] = 3_000_888
        accuracy += accuracy_and_timings("generated", data, work, config, timings, args.training_only)
        if not (args.skip_run or args.training_only):
            seconds, peak = run_cli(data, work / "run_out", args.epochs)
            timings.append(("generated: `favorita run` end to end (subprocess)", 3_000_888, seconds, peak))
    if args.training_only:
        pass
    elif (args.real_dir / "transactions.csv").exists():
        real = write_transactions_data(args.real_dir, work / "real")
        accuracy += accuracy_and_timings("real transactions", real, work, config, timings)
    else:
        print(f"(real transactions skipped: no transactions.csv in {args.real_dir})")

    print(f"\nForecast benchmark, {os.cpu_count()} cores; DeepAR hyperparameters as resolved per data set:")
    for data_name, shown in HYPERPARAMETERS.items():
        print(f"  {data_name}: {json.dumps(shown)}")
    print()
    print(f"| {'stage':<58} | {'rows/series':>11} | {'wall s':>8} | {'peak +RSS MB':>12} |")
    print(f"|{'-' * 60}|{'-' * 13}|{'-' * 10}|{'-' * 14}|")
    for stage, rows, seconds, peak in timings:
        if "ratio" in stage:
            print(f"| {stage:<58} | {'':>11} | {seconds:>7.3f}x | {'':>12} |")
        elif "best of 2" in stage:
            print(f"| {stage:<58} | {rows:>11,} | {seconds:>8.1f} | {'n/a':>12} |")
        else:
            print(f"| {stage:<58} | {'' if rows is None else f'{rows:,}':>11} | {seconds:>8.1f} | {peak:>12,.0f} |")
    print(f"\nBacktest: the last {H} days of history, every series; lower is better\n")
    print(f"| {'data':<18} | {'method':<26} | {'RMSLE':>7} | {'WAPE':>7} |")
    print(f"|{'-' * 20}|{'-' * 28}|{'-' * 9}|{'-' * 9}|")
    for data_name, method, r, w in accuracy:
        print(f"| {data_name:<18} | {method:<26} | {r:>7.4f} | {w:>7.4f} |")
    for data_name in dict.fromkeys(a[0] for a in accuracy):  # (empty with --training-only)
        rows = {m: r for d, m, r, _ in accuracy if d == data_name}
        best_naive = min(rows["last_week"], rows["mean_last_4_weekdays"])
        print(f"\n{data_name}: DeepAR RMSLE is {1 - rows['deepar'] / best_naive:+.1%} below the best naive baseline, "
              f"{1 - rows['deepar'] / rows['AutoETS (statsforecast)']:+.1%} below AutoETS, "
              f"{1 - rows['deepar'] / rows['LightGBM (mlforecast)']:+.1%} below LightGBM")  # fmt: skip


if __name__ == "__main__":
    main()
