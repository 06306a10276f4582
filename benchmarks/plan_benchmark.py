"""The replenishment plan's cost as the chain grows: `replenishment.plan` on 1x, 4x and 10x Kaggle's series, with
each interval's residuals split by family once (the code) against a scan of every residual per row (the code
before, kept below as the baseline), side by side in this one process on the same frames. Both give the same plan.

    python benchmarks/plan_benchmark.py [--scales 1 4 10] [--baseline-up-to 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core import replenishment
from favorita_assets.core.sample_data import FAMILIES

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measured  # noqa: E402

H, K = 16, 3


def frames(stores: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Published forecasts, a 3-window backtest and a snapshot for stores x 33 families (the plan's inputs)."""
    rng = np.random.default_rng(seed)
    families = [f.name for f in FAMILIES]
    keys = pd.MultiIndex.from_product([range(1, stores + 1), families], names=["store_nbr", "family"]).to_frame(
        index=False
    )
    n = len(keys)
    level = rng.lognormal(3, 1.5, n)
    horizon = pd.date_range("2017-08-16", periods=H, freq="D")
    forecasts = pd.DataFrame(
        {
            "date": np.tile(horizon.values, n),
            "store_nbr": np.repeat(keys["store_nbr"], H),
            "family": np.repeat(keys["family"], H),
            "mean": np.repeat(level, H) * rng.lognormal(0, 0.1, n * H),
            "model_version": "lightgbm-2017-08-0000000000",
        }
    )
    days = pd.date_range("2017-07-01", periods=H * K, freq="D")
    actual = np.repeat(level, H * K) * rng.lognormal(0, 0.3, n * H * K)
    backtest = pd.DataFrame(
        {
            "window": np.tile(np.repeat(np.arange(1, K + 1), H), n),
            "date": np.tile(days.values, n),
            "store_nbr": np.repeat(keys["store_nbr"], H * K),
            "family": np.repeat(keys["family"], H * K),
            "actual": actual,
            "published_mean": np.repeat(level, H * K),
        }
    )
    inventory = keys.assign(
        on_hand=np.round(level * rng.uniform(2, 20, n)),
        on_order=0.0,
        lead_time_days=rng.integers(2, 6, n),
        review_period_days=7,
        pack_size=np.nan,
        target_service_level=np.nan,
        unit_cost=np.nan,
        holding_cost_rate=np.nan,
        stockout_cost=np.nan,
    )
    return forecasts, backtest, inventory


def pooled_before(backtest, pools, days, family):
    """The code before: every row scanned the interval's whole residual table for its family."""
    if days not in pools:
        pools[days] = replenishment.interval_residuals(backtest, days)
    pool = pools[days]
    own = pool.loc[pool["family"].astype(str) == family, "r"].to_numpy()
    return (own, family) if len(own) >= replenishment.MIN_RESIDUALS else (pool["r"].to_numpy(), "all families")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument(
        "--baseline-up-to",
        type=int,
        default=4,
        help="run the baseline up to this scale only (it grows with the square of the series: about 7 minutes at 10x)",
    )
    args = parser.parse_args()
    results: list = []
    now = replenishment._pooled
    for scale in args.scales:
        forecasts, backtest, inventory = frames(54 * scale)
        plans = {}
        ways = (("before: scan per row", pooled_before), ("split by family once", now))
        for label, pooled in ways[0 if scale <= args.baseline_up_to else 1 :]:
            replenishment._pooled = pooled
            try:
                with measured(results, f"{scale}x {label}", rows=len(inventory)):
                    plans[label] = replenishment.plan(forecasts, backtest, inventory)
            finally:
                replenishment._pooled = now
        if len(plans) == 2:
            same = plans["before: scan per row"].equals(plans["split by family once"])
            results.append((f"{scale}x same plan", same, 0.0, 0.0))
    print("| plan() | series | wall s | peak +RSS MB |\n|---|---|---|---|")
    for stage, rows, seconds, peak in results:
        if isinstance(rows, bool):
            print(f"| {stage} | {rows} | | |")
        else:
            print(f"| {stage} | {rows:,} | {seconds:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
