"""Which models the ensemble should average, decided on Kaggle's real sales.

Every candidate's forecasts of the three 16-day windows ending 2017-07-30 are made once, with the product's own
cleaning, channels and candidates (as benchmarks/real_sales_benchmark.py makes them); then the evaluation (bands,
each family's champion, the nested score of the choice) runs once per ensemble membership, side by side, with
AutoETS's full model search as the peer to beat (``--autoets``).

    python benchmarks/ensemble_members.py [--data ../shared/favorita] [--horizon 16] [--cache FILE] [--autoets]

``--cache FILE`` keeps the forecasts (a pickle) so a second run re-scores without refitting.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_sales_benchmark as rb  # noqa: E402

from favorita_assets.core import candidates  # noqa: E402
from favorita_assets.core.channels import prepare_from_cleaned  # noqa: E402
from favorita_assets.core.cleaning import clean_tables  # noqa: E402
from favorita_assets.core.deepar_format import build_channels, compact_record  # noqa: E402
from favorita_assets.core.evaluation import evaluate, problems_from_records  # noqa: E402

BASE = ("deepar", "last_week", "mean_last_4_weekdays", "croston", "lightgbm", "lightgbm_direct")
MEMBERSHIPS = (
    ("deepar", "lightgbm", "lightgbm_direct"),
    ("deepar", "lightgbm", "lightgbm_direct", "ets"),
    ("lightgbm", "lightgbm_direct", "ets"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "favorita")
    parser.add_argument("--horizon", type=int, default=16)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--autoets", action="store_true", help="also score AutoETS's full search (about 11 min)")
    args = parser.parse_args()
    if not any((args.data / name).exists() for name in ("train.csv", "train.csv.gz")):
        print(f"skipped: no Kaggle sales history (train.csv or train.csv.gz) in {args.data}; pass --data DIR")
        return
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    h, k = args.horizon, args.windows
    tables = rb.load(args.data)
    cleaned = clean_tables(tables)
    cutoff = cleaned["date"].max()
    history, inputs = prepare_from_cleaned(
        cleaned, tables["test"], tables["stores"], tables["holidays_events"], cutoff, h, k
    )
    channels = build_channels(history, cutoff, h, inputs.horizon_features, k, inputs.plan.unknown_promotions)
    test = [compact_record(r) for r in channels.test]
    inference = [compact_record(r) for r in channels.inference]
    problems = problems_from_records(test, inference, h, k, cutoff)
    families = channels.series["family"].to_numpy()
    forecasts = pickle.loads(args.cache.read_bytes()) if args.cache and args.cache.exists() else {}
    names = (*BASE, "ets", *(["autoets"] if args.autoets else []))
    for name in names:
        if name in forecasts:
            continue
        started = time.perf_counter()
        if name == "deepar":
            forecasts[name], _ = rb.deepar_forecasts(channels, h, k, test)
        else:
            forecasts[name] = candidates.challenger(name).forecast_all(problems[:k])
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(forecasts))

    def windows(values) -> str:
        return " / ".join(f"{w['rmsle']:.4f}" for w in values)

    print(f"\n## {k} windows of {h} days before {cutoff:%Y-%m-%d}, {len(test):,} series\n")
    print("| candidate | RMSLE by window | mean RMSLE |")
    print("|---|---|---|")
    for name in names:
        score = evaluate(test, h, k, cutoff, families, {name: forecasts[name]}, problems=problems).scores[name]
        print(f"| {candidates.LABELS[name]} | {windows(score['windows'])} | {score['overall']['rmsle']:.4f} |")
    print("\n| ensemble members | ensemble RMSLE by window | published, nested, by window | nested mean | coverage |")
    print("|---|---|---|---|---|")
    default = candidates.ENSEMBLE_MEMBERS
    try:
        for members in MEMBERSHIPS:
            candidates.ENSEMBLE_MEMBERS = members
            scored = [*BASE, *(["ets"] if "ets" in members else [])]
            evaluation = evaluate(test, h, k, cutoff, families, {n: forecasts[n] for n in scored}, problems=problems)
            ensemble, nested = evaluation.scores[candidates.ENSEMBLE], evaluation.published["nested"]
            print(
                f"| {' + '.join(members)} | {windows(ensemble['windows'])} ({ensemble['overall']['rmsle']:.4f}) | "
                f"{windows(nested['windows'])} | {nested['overall']['rmsle']:.4f} | "
                f"{nested['overall']['coverage']:.3f} |"
            )
    finally:
        candidates.ENSEMBLE_MEMBERS = default


if __name__ == "__main__":
    main()
