"""Replenishment benchmark: how well each way of getting the demand over lead time + review period holds, on the
real store transactions (Kaggle's transactions.csv as a one-family train.csv: 54 real series), or with --sales on the
real sales history (train.csv.gz: 1,782 store x family series).

`favorita run`'s graph runs once on them (in this process, embedded default); its backtest table has, for 3 windows
of 16 days, every series' published daily forecast, its calibrated daily P10/P90 and what really happened. For
P-day sums from each window's first day (P = 7, 10, 14), each method's quantile of the sum is set on two windows
and judged on the third (every window in turn), side by side:

  - sum residuals, overlapping (the plan's method): the level's order statistic of log1p(actual sum) - log1p(forecast
    sum) over every P-day stretch of the other windows, applied to this window's forecast sum;
  - sum residuals, first days (the plan's method before): the same from each window's first P days only;
  - summed daily quantiles (the old low-stock rule): the daily P90s added up (P90 only);
  - independent days: the forecast sum plus z times the root of the summed daily variances (from P10-P90).

It prints, per P and level, the coverage (share of series-windows whose real sum stayed at or below the quantile;
the target is the level) and the mean units held above the real sum (stock that was not needed).

    python benchmarks/replenishment_benchmark.py [--sales] [--real-dir ../shared/favorita] [--workdir DIR] [--epochs N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from favorita_assets.core.replenishment import interval_residuals, order_statistic
from favorita_assets.core.sample_data import transactions_as_train
from favorita_assets.core.schema import read_kaggle_csv
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
Z80 = norm.ppf(0.9) - norm.ppf(0.1)


def real_data(real_dir: Path, out: Path, sales: bool = False) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for table in ("stores", "oil", "holidays_events"):
        (out / f"{table}.csv").write_bytes((real_dir / f"{table}.csv").read_bytes())
    if sales:  # the real sales history, as Kaggle ships it (1,782 store x family series)
        (out / "train.csv.gz").write_bytes((real_dir / "train.csv.gz").read_bytes())
        return out
    train = transactions_as_train(read_kaggle_csv(real_dir / "transactions.csv", "transactions"))
    train.assign(date=train["date"].dt.strftime("%Y-%m-%d")).to_csv(out / "train.csv", index=False)
    return out


def sums(backtest: pd.DataFrame, days: int) -> pd.DataFrame:
    bt = backtest.sort_values(["window", "store_nbr", "family", "date"])
    bt = bt.assign(day=bt.groupby(["window", "store_nbr", "family"], observed=True).cumcount() + 1)
    first = bt[bt["day"] <= days]
    sd = (first["published_p90"] - first["published_p10"]) / Z80
    first = first.assign(var=sd**2)
    return (
        first.groupby(["window", "store_nbr", "family"], observed=True)
        .agg(actual=("actual", "sum"), mean=("published_mean", "sum"), p90=("published_p90", "sum"), var=("var", "sum"))
        .reset_index()
    )


def evaluate(backtest: pd.DataFrame, days: int, level: float) -> dict[str, tuple[float, float]]:
    table = sums(backtest, days)
    keys = ["window", "store_nbr", "family"]
    overlapping = interval_residuals(backtest, days).set_index(keys)["r"]
    first = interval_residuals(backtest, days, overlapping=False).set_index(keys)["r"]
    out: dict[str, list] = {
        "sum residuals, overlapping": [],
        "sum residuals, first days": [],
        "summed daily quantiles": [],
        "independent days": [],
    }
    for w in sorted(table["window"].unique()):
        test = table[table["window"] == w]
        methods = {}
        for name, residuals in (("sum residuals, overlapping", overlapping), ("sum residuals, first days", first)):
            pool = residuals[residuals.index.get_level_values("window") != w].to_numpy()
            methods[name] = np.expm1(np.log1p(test["mean"]) + order_statistic(pool, level)[0])
        methods["independent days"] = test["mean"] + norm.ppf(level) * np.sqrt(test["var"])
        if level == 0.9:
            methods["summed daily quantiles"] = test["p90"]
        for name, quantile in methods.items():
            out[name].append(np.column_stack([test["actual"] <= quantile, np.clip(quantile - test["actual"], 0, None)]))
    return {name: (float(np.vstack(v)[:, 0].mean()), float(np.vstack(v)[:, 1].mean())) for name, v in out.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "favorita")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--sales",
        action="store_true",
        help="the real sales history (train.csv.gz, 1,782 series; about 5 minutes) instead of the transactions",
    )
    args = parser.parse_args()
    needed = "train.csv.gz" if args.sales else "transactions.csv"
    if not (args.real_dir / needed).is_file():
        raise SystemExit(f"no {needed} in {args.real_dir}: this benchmark needs the real files")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="favorita_replenishment_"))
    data = real_data(args.real_dir, work / "data", sales=args.sales)
    settings = Settings(deployment="local", data_dir=data, storage_dir=work / "storage")
    started = time.perf_counter()
    report = run_pipeline(
        settings, config=run_config(**({"epochs": args.epochs} if args.epochs else {})), log_level="WARNING"
    )
    if not report.success:
        raise SystemExit(f"the run failed: {report.failures}")
    (path,) = (work / "storage").glob("evaluation/*/backtest.parquet")
    backtest = pd.read_parquet(path)
    print(
        f"real {'sales' if args.sales else 'transactions'}: "
        f"{backtest.groupby(['store_nbr', 'family']).ngroups} series, "
        f"{backtest['window'].nunique()} backtest windows of 16 days; run {time.perf_counter() - started:.0f} s "
        f"(published: {report.materialized['forecast_evaluation']['champion']})\n"
    )
    print(f"{'P days':>6} {'level':>6}  {'method':<28} {'coverage':>9} {'mean units above need':>22}")
    for days in (7, 10, 14):
        for level in (0.8, 0.9, 0.95):
            for name, (coverage, above) in evaluate(backtest, days, level).items():
                print(f"{days:>6} {level:>6.2f}  {name:<28} {coverage:>9.3f} {above:>22,.0f}")
        print()


if __name__ == "__main__":
    main()
