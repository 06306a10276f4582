"""The track record on real sales: a backfill of the last monthly cut-offs inside Kaggle's history, each scored by
forecast_value_added once the sales of its horizon are in, naive baseline against the statistical and the adjusted
forecast, with the plot the docs show.

Kaggle's train.csv.gz (or train.csv) with stores, oil and holidays from ``--data``; nothing after 2017-07-30 is
read (test.csv, whose promotions are of the weeks after, is left out). The graph runs as `favorita run` runs it, one
cut-off after another on the same storage and instance, with a cheaper model set than the defaults (``--epochs``
DeepAR epochs, ``--candidates``) and, with ``--stores N``, the first N stores only, so that the backfill fits in
half an hour on 2 busy cores. Then
forecast_value_added of the month after the last one scores every cut-off whose 16 days of sales are known.

One illustrative override set is landed on ``--override-month`` before it is scored (BEVERAGES x1.1 in every store
over its whole horizon, chosen before looking at the outcome; no planner made it): it shows what the track record
says of an adjustment, not that adjustments help.

    python benchmarks/track_record.py [--data ../shared/favorita] [--months 2017-04,2017-05,2017-06]
        [--stores 54] [--epochs 10] [--candidates last_week,mean_last_4_weekdays,lightgbm] [--out /tmp/track_record]
        [--plot docs/assets/track_record.png] [--score-only]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dagster import DagsterInstance, materialize  # noqa: E402

from favorita_assets import storage_keys as keys  # noqa: E402
from favorita_assets.core import value_added as fva  # noqa: E402
from favorita_assets.core.plotting import track_record  # noqa: E402
from favorita_assets.decisions.assets import forecast_value_added  # noqa: E402
from favorita_assets.definitions import build_definitions  # noqa: E402
from favorita_assets.pipeline import run_pipeline  # noqa: E402
from favorita_assets.settings import Settings, build_resources  # noqa: E402
from ops_jobs.overrides import APPLY_OVERRIDES_JOB  # noqa: E402

LAST_REAL_DAY = "2017-07-30"
FILES = ("stores.csv", "oil.csv", "holidays_events.csv")


def real_files(source: Path, target: Path, stores: int) -> int:
    """The Kaggle files the graph reads, up to the last real day and for the first ``stores`` stores: train,
    stores, oil, holidays. Returns the number of series."""
    target.mkdir(parents=True, exist_ok=True)
    train = source / "train.csv.gz" if (source / "train.csv.gz").is_file() else source / "train.csv"
    sales = pd.read_csv(train)
    sales = sales[(sales["store_nbr"] <= stores) & (sales["date"] <= LAST_REAL_DAY)]
    sales.to_csv(target / "train.csv", index=False)
    for name in FILES:
        frame = pd.read_csv(source / name)
        if "date" in frame:
            frame = frame[frame["date"] <= LAST_REAL_DAY]
        if name == "stores.csv":
            frame = frame[frame["store_nbr"] <= stores]
        frame.to_csv(target / name, index=False)
    return int(sales.groupby(["store_nbr", "family"]).ngroups)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "favorita")
    parser.add_argument("--months", default="2017-04,2017-05,2017-06")
    parser.add_argument("--stores", type=int, default=54, help="the first N stores (default all 54)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--candidates", default="last_week,mean_last_4_weekdays,lightgbm")
    parser.add_argument("--override-month", default="2017-05")
    parser.add_argument("--out", type=Path, default=Path("/tmp/track_record"))
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "assets" / "track_record.png")
    parser.add_argument(
        "--score-only", action="store_true", help="score the cut-offs an earlier run of this script left in --out"
    )
    args = parser.parse_args()
    months = args.months.split(",")
    settings = Settings(deployment="local", data_dir=args.out / "data", storage_dir=args.out / "storage")
    storage = build_resources(settings)["storage"]
    instance = DagsterInstance.ephemeral()
    if args.score_only:
        months = [m for m in months if storage.exists(keys.forecasts(m))]
        instance.add_dynamic_partitions("cutoff_month", [f"{pd.Period(months[-1], freq='M') + 1}"])
    else:
        shutil.rmtree(args.out, ignore_errors=True)
        print(f"{real_files(args.data, args.out / 'data', args.stores):,} series", flush=True)
    config = {
        "ops": {
            "deepar_model": {"config": {"epochs": args.epochs}},
            "forecast_evaluation": {"config": {"candidates": args.candidates.split(",")}},
        }
    }
    for month in [] if args.score_only else months:
        started = time.perf_counter()
        report = run_pipeline(settings, month, config=config, instance=instance, log_level="WARNING")
        if not report.success:
            print(f"{month}: failed: {report.failures}", file=sys.stderr)
            return 1
        print(f"{month}: published in {time.perf_counter() - started:.0f} s", flush=True)
        if month == args.override_month:
            landed = override(settings, storage, instance, month, args.out)
            print(f"{month}: illustrative override set landed: {landed}", flush=True)
    after = f"{pd.Period(months[-1], freq='M') + 1}"
    result = materialize(
        [forecast_value_added], partition_key=after, resources=build_resources(settings), instance=instance
    )
    assert result.success
    record = pd.concat(
        [storage.read_parquet(keys.value_added(m)) for m in months if storage.exists(keys.value_added(m))],
        ignore_index=True,
    )
    table = fva.last_months_table(record, months=len(months))
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    series = storage.read_parquet(keys.forecasts(months[-1]), columns=["store_nbr", "family"]).drop_duplicates()
    title = f"Track record on Kaggle's real sales: {len(series):,} series, 16 days after each cut-off"
    args.plot.write_bytes(track_record(table, title))
    print(fva.markdown(table))
    (check,) = result.get_asset_check_evaluations()
    print(f"\ncheck {check.check_name}: {'passed' if check.passed else 'WARN'}: {check.description}")
    families = record[(record["forecast"] != "naive") & (record["month"] == args.override_month)]
    beverages = families[families["family"] == "BEVERAGES"].set_index("forecast")[["rmsle", "wape", "bias"]]
    print(f"\nBEVERAGES on {args.override_month} (the illustrative x1.1):\n{beverages.to_markdown()}")
    print(f"\nplot: {args.plot}")
    return 0


def override(settings: Settings, storage, instance: DagsterInstance, month: str, out: Path) -> str:
    fc = storage.read_parquet(keys.forecasts(month))
    days = sorted(pd.to_datetime(fc["date"]).unique())
    rules = out / "illustrative_overrides.csv"
    rules.write_text(
        "store_nbr,family,start,end,multiplier,quantity,closed,reason,planner\n"
        f",BEVERAGES,{days[0]:%Y-%m-%d},{days[-1]:%Y-%m-%d},1.1,,,illustration of the track record,benchmark\n"
    )
    job = build_definitions(settings).resolve_job_def(APPLY_OVERRIDES_JOB)
    result = job.execute_in_process(
        instance=instance,
        partition_key=month,
        run_config={"ops": {"adjusted_forecasts": {"config": {"override_file": str(rules)}}}},
    )
    meta = result.asset_materializations_for_node("adjusted_forecasts")[0].metadata
    return f"{meta['override_set'].value[:12]}, {meta['units_changed'].value:+,.0f} units"


if __name__ == "__main__":
    sys.exit(main())
