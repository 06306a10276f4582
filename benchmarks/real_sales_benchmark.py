"""Real sales: every candidate, the ensemble and the published mix on Kaggle's real train.csv, side by side.

Kaggle's train.csv (or train.csv.gz, or the competition's zip) up to its last day; the backtest windows are the
last ``--windows`` windows of H days before it (by default the three 16-day windows ending 2017-07-30, and, as a
second table, three 28-day windows). Everything is built by the product's own code: the cleaning, the channels (the
horizon's promotions estimated from each series' last 4 weeks when no plan covers them, and the backtest windows
then the same way, so the windows score what would be published), the candidates and the evaluation (cross-conformal
bands, each family's champion, the nested score of that choice: champions chosen without the window scored).

    python benchmarks/real_sales_benchmark.py [--data ../shared/favorita] [--horizons 16,28] [--windows 3]
        [--candidates deepar,last_week,...] [--run]

Columns: RMSLE per window and their mean (Kaggle's metric, all rows), WAPE, bias (sum of forecasts over sum of
sales, per window), P10-P90 coverage, seconds and peak memory added per candidate (RSS sampled every 5 ms), and for
DeepAR the worst family's WAPE. ``--run`` also times ``favorita run --data DIR`` with its defaults (wall time and
the peak memory of its process tree), the run a user waits for.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measured  # noqa: E402
from scale_benchmark import tree_memory  # noqa: E402

from favorita_assets.core import deepar_gluonts  # noqa: E402
from favorita_assets.core.candidates import DEEPAR, DEFAULT_CHALLENGERS, ENSEMBLE, LABELS, challenger  # noqa: E402
from favorita_assets.core.channels import prepare_from_cleaned  # noqa: E402
from favorita_assets.core.cleaning import clean_tables  # noqa: E402
from favorita_assets.core.deepar_format import build_channels, compact_record, suggest_likelihood, window_instances  # noqa: E402
from favorita_assets.core.evaluation import QUANTILES, evaluate, problems_from_records  # noqa: E402
from favorita_assets.core.schema import read_kaggle_csv  # noqa: E402
from favorita_assets.ingest.resources import RawDataSource  # noqa: E402
from favorita_assets.modeling.config import DeepARConfig  # noqa: E402

PEERS = ("autoets",)  # scored beside the product's candidates, not published by default


def load(data: Path) -> dict[str, pd.DataFrame | None]:
    source = RawDataSource(data_dir=str(data))
    tables: dict[str, pd.DataFrame | None] = {}
    for name in ("train", "stores", "oil", "holidays_events", "test"):
        with source.local_file(None, f"{name}.csv") as path:
            tables[name] = read_kaggle_csv(path, name) if path.exists() else None
    return tables


def deepar_forecasts(channels, h: int, k: int, test: list[dict]) -> tuple[dict, dict]:
    """DeepAR with the product's defaults, trained on the train channel, forecasting every window."""
    likelihood, _ = suggest_likelihood(channels.train)
    hp = DeepARConfig().hyperparameters(h, auto_likelihood=likelihood)
    losses: list[float] = []
    started = time.perf_counter()
    predictor = deepar_gluonts.train(
        channels.train, hp, channels.encoding.cardinality, on_epoch=lambda e, n, loss: losses.append(loss)
    )
    trained = time.perf_counter() - started
    predictions = deepar_gluonts.predict(predictor, window_instances(test, h, k), QUANTILES)
    n = len(test)
    out = {
        key: [np.vstack([p[key] for p in predictions[w * n : (w + 1) * n]]) for w in range(k)]
        for key in ("mean", *QUANTILES)
    }
    return out, {"epochs": len(losses), "training_seconds": trained, "likelihood": likelihood}


def horizon_table(
    tables: dict, cleaned: pd.DataFrame, h: int, k: int, names: list[str], actual_promotions: bool = False
) -> None:
    cutoff = cleaned["date"].max()
    history, inputs = prepare_from_cleaned(
        cleaned, tables["test"], tables["stores"], tables["holidays_events"], cutoff, h, k
    )
    unknown = () if actual_promotions else inputs.plan.unknown_promotions
    channels = build_channels(history, cutoff, h, inputs.horizon_features, k, unknown)
    test = [compact_record(r) for r in channels.test]
    inference = [compact_record(r) for r in channels.inference]
    problems = problems_from_records(test, inference, h, k, cutoff)
    families = channels.series["family"].to_numpy()
    print(
        f"\n## {k} windows of {h} days before {cutoff:%Y-%m-%d}: {len(test):,} series; horizon promotions: "
        f"{inputs.promotions_source}; the windows' promotions: "
        f"{'as estimated for the horizon' if unknown else 'the real ones (optimistic: unknown ahead)'}",
        flush=True,
    )
    forecasts, cost, notes = {}, {}, {}
    for name in names:
        results: list = []
        with measured(results, name):
            if name == DEEPAR:
                forecasts[name], notes[name] = deepar_forecasts(channels, h, k, test)
            else:
                forecasts[name] = challenger(name).forecast_all(problems[:k])
        cost[name] = results[0][2:]
        print(f"  {name}: {cost[name][0]:.0f} s, peak +{cost[name][1]:,.0f} MB", flush=True)
    evaluation = evaluate(test, h, k, cutoff, families, forecasts, problems=problems)
    bt = evaluation.backtest

    def bias(mean: np.ndarray) -> list[float]:
        return [float(mean[w].sum() / bt.actual[w].sum()) for w in range(k)]

    rows = []
    for name, s in evaluation.scores.items():
        worst = max(s["families"].items(), key=lambda item: item[1]["wape"] if np.isfinite(item[1]["wape"]) else -1)
        rows.append(
            {
                "candidate": LABELS.get(name, name),
                "windows": [w["rmsle"] for w in s["windows"]],
                "rmsle": s["overall"]["rmsle"],
                "wape": s["overall"]["wape"],
                "bias": bias(bt.forecasts[name]["mean"]),
                "coverage": s["overall"]["coverage"],
                "seconds": cost.get(name, (None, None))[0],
                "mb": cost.get(name, (None, None))[1],
                "worst": f"{worst[0]} {worst[1]['wape']:.2f}",
            }
        )
    mean, _ = evaluation.mix()
    published, nested = evaluation.published, evaluation.published["nested"]
    rows.append(
        {
            "candidate": "**published mix** (champions chosen on all windows)",
            "windows": [w["rmsle"] for w in published["windows"]],
            "rmsle": published["overall"]["rmsle"],
            "wape": published["overall"]["wape"],
            "bias": bias(mean),
            "coverage": published["overall"]["coverage"],
            "seconds": None,
            "mb": None,
            "worst": "",
        }
    )
    if nested:
        rows.append(
            {
                "candidate": "**published, nested** (each window's champions chosen on the others)",
                "windows": [w["rmsle"] for w in nested["windows"]],
                "rmsle": nested["overall"]["rmsle"],
                "wape": nested["overall"]["wape"],
                "bias": [float("nan")] * k,
                "coverage": nested["overall"]["coverage"],
                "seconds": None,
                "mb": None,
                "worst": "",
            }
        )
    print()
    print(
        "| candidate | RMSLE by window | mean RMSLE | WAPE | bias by window | P10-P90 coverage | seconds | peak MB "
        "| worst family WAPE |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        seconds = "" if r["seconds"] is None else f"{r['seconds']:.0f}"
        mb = "" if r["mb"] is None else f"{r['mb']:,.0f}"
        print(
            f"| {r['candidate']} | {' / '.join(f'{v:.4f}' for v in r['windows'])} | "
            f"{r['rmsle']:.4f} | {r['wape']:.4f} | "
            f"{' / '.join('' if not np.isfinite(b) else f'{b:.3f}' for b in r['bias'])} | {r['coverage']:.3f} | "
            f"{seconds} | {mb} | {r['worst']} |"
        )
    counts = pd.Series(evaluation.champions).value_counts()
    print("\nchampions: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
    if nested:
        print("nested coverage by window: " + ", ".join(f"{w['coverage']:.3f}" for w in nested["windows"]))
    for name, note in notes.items():
        print(
            f"{name}: "
            + ", ".join(
                f"{key} {value if not isinstance(value, float) else round(value, 1)}" for key, value in note.items()
            )
        )


def time_run(data: Path) -> None:
    """``favorita run --data DIR`` with its defaults, in a fresh folder: wall time and peak memory of its tree."""
    import psutil

    with tempfile.TemporaryDirectory(prefix="favorita_real_run_") as folder:
        command = [str(Path(sys.executable).parent / "favorita"), "run", "--data", str(data), "--out", folder]
        started = time.perf_counter()
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**__import__("os").environ, "DAGSTER_HOME": str(Path(folder) / "home")},
        )
        peak = [0]

        def sample():
            process = psutil.Process(child.pid)
            while child.poll() is None:
                try:
                    peak[0] = max(peak[0], tree_memory(process))
                except psutil.NoSuchProcess:
                    break
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        output = child.communicate()[0]
        wall = time.perf_counter() - started
        sampler.join()
        warnings_seen = sum("Warning" in line for line in output.splitlines())
        print(
            f"\n## favorita run --data {data} (defaults)\n\nexit {child.returncode}, wall {wall:.0f} s, "
            f"peak memory {peak[0] / 2**30:.2f} GB, lines naming a warning: {warnings_seen}"
        )
        print("\n".join(output.splitlines()[-40:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "favorita")
    parser.add_argument("--horizons", default="16,28")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--candidates", default=",".join([DEEPAR, *DEFAULT_CHALLENGERS, *PEERS]))
    parser.add_argument(
        "--actual-promotions",
        action="store_true",
        help="give the windows their real promotions even when the horizon's are estimated (the "
        "optimistic backtest: what the scores were before the estimate)",
    )
    parser.add_argument("--run", action="store_true", help="also time `favorita run --data DIR` with its defaults")
    args = parser.parse_args()
    sales = (
        [args.data / "train.csv", args.data / "train.csv.gz", *args.data.glob("*.zip")] if args.data.is_dir() else []
    )
    if not any(path.exists() for path in sales):
        print(
            f"skipped: no Kaggle sales history in {args.data} (train.csv, train.csv.gz or the competition's zip); "
            "download it from Kaggle and pass --data DIR"
        )
        return
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)
    results: list = []
    with measured(results, "load and clean"):
        tables = load(args.data)
        cleaned = clean_tables(tables)
    print(f"loaded and cleaned {len(cleaned):,} rows in {results[0][2]:.0f} s")
    names = [n for n in args.candidates.split(",") if n and n != ENSEMBLE]
    for h in (int(v) for v in args.horizons.split(",")):
        horizon_table(tables, cleaned, h, args.windows, names, args.actual_promotions)
    if args.run:
        time_run(args.data)


if __name__ == "__main__":
    main()
