"""Where a stage's time goes: py-spy's raw samples of a pipeline run, summed under one function.

Record a run (the scale benchmark's child, or `favorita run`) with py-spy (`pip install py-spy`; not a dependency
of the project), then sum the samples under an asset:

    py-spy record --pid PID --rate 10 --format raw --nonblocking -o prof.txt
    python benchmarks/profile_summary.py prof.txt "forecasts (favorita_assets/publishing" [--depth 1]

It prints the share of the samples under that frame by what it called (``--depth`` frames below it) and by the
innermost frame (where the time was spent). py-spy's raw format: one line per distinct stack, frames joined by
``;`` outermost first, then a space and the number of samples.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter


def summarize(path: str, marker: str, depth: int = 1) -> tuple[int, Counter, Counter]:
    """(samples under ``marker``, samples by the ``depth`` frames below it, samples by innermost frame)."""
    below, leaves, total = Counter(), Counter(), 0
    plain = lambda frame: re.sub(r":\d+\)$", ")", frame)  # noqa: E731 - one frame for every line of a function
    with open(path) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            at = next((i for i, frame in enumerate(frames) if marker in frame), None)
            if at is None or not count.isdigit():
                continue
            n = int(count)
            total += n
            below[" > ".join(plain(f) for f in frames[at + 1 : at + 1 + depth]) or "(in the frame itself)"] += n
            leaves[plain(frames[-1])] += n
    return total, below, leaves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="py-spy record --format raw output")
    parser.add_argument("marker", help="text of the frame to sum under, e.g. 'forecast_evaluation (favorita_assets'")
    parser.add_argument("--depth", type=int, default=1, help="frames below the marker to group by (default 1)")
    parser.add_argument("--top", type=int, default=15, help="rows per table (default 15)")
    args = parser.parse_args()
    total, below, leaves = summarize(args.profile, args.marker, args.depth)
    if not total:
        raise SystemExit(f"no sample of {args.profile} has a frame containing {args.marker!r}")
    for title, counts in (("called from it", below), ("innermost frame", leaves)):
        print(f"\n| {title} | samples | share |\n|---|---|---|")
        for name, n in counts.most_common(args.top):
            print(f"| {name} | {n:,} | {100 * n / total:.1f} % |")
    print(f"\n{total:,} samples under {args.marker!r}")


if __name__ == "__main__":
    main()
