"""The challengers' backtest and horizon forecasts, group by group: the one function each partition runs, in this
process (the embedded default) or in a Spark task of the Glue job (AWS mode, ``--task challengers``).

A partition is a set of series and the candidates to run on them (:func:`partition_plan`):

- per-series candidates (the seasonal naive baselines, the statsforecast models) fit each series alone, so any split
  of the series gives the same forecasts: in-process they run on the whole chain at once, on Spark on chunks of
  ``series_per_task`` consecutive series;
- global candidates (the two LightGBMs) learn across the series they are given, so the split is part of the model:
  ``global_models_by="chain"`` trains one model on every series (the default: what the backtest has always scored),
  ``"family"`` one model per product family (33 models for Favorita, each small enough for one Glue worker however
  many stores the chain has). Both engines split the same way, so they give the same forecasts.

Every partition sees its series' rows of the chain's problems (the same history matrix width), so a group's
forecasts do not depend on which other series were in its partition.

Pure: numpy, pandas and the candidates' libraries; no Dagster, no AWS, no Spark.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from favorita_assets.core.candidates import Problem, challenger

GLOBAL_CANDIDATES = ("lightgbm", "lightgbm_direct")  # learn across the series they are given
SCOPES = ("chain", "family")
ROW_COLUMNS = ("series", "candidate", "window", "mean")  # the per-series forecasts as Parquet stores them


@dataclass
class ChallengerRuns:
    """Each challenger's forecasts (``forecasts[name]``: the backtest windows, oldest first, then the horizon; each
    (n_series, h)), or why it failed, and its seconds (summed over partitions)."""

    forecasts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Partition:
    """A group of series (``rows``: their positions in the chain's series order) and the candidates run on them."""

    label: str
    candidates: tuple[str, ...]
    rows: np.ndarray


def partition_plan(
    families, candidates, global_models_by: str = "chain", series_per_task: int | None = None
) -> list[Partition]:
    """The partitions a backtest runs (see the module docstring); ``families``: one per series, in order."""
    if global_models_by not in SCOPES:
        raise ValueError(f"global_models_by={global_models_by!r}: use one of {', '.join(SCOPES)}")
    families = np.asarray(families).astype(str)
    n = len(families)
    local = tuple(c for c in candidates if c not in GLOBAL_CANDIDATES)
    learned = tuple(c for c in candidates if c in GLOBAL_CANDIDATES)
    out = []
    if local:
        size = series_per_task or max(n, 1)
        for start in range(0, n, size):
            rows = np.arange(start, min(n, start + size))
            out.append(Partition(f"series {start + 1}-{rows[-1] + 1}", local, rows))
    if learned and global_models_by == "chain":
        out.append(Partition("every series", learned, np.arange(n)))
    elif learned:
        for family in sorted(set(families)):
            out.append(Partition(f"family {family}", learned, np.flatnonzero(families == family)))
    return out


def subset(problems: list[Problem], rows: np.ndarray) -> list[Problem]:
    """The problems of the series at ``rows`` (the whole list when ``rows`` is every series)."""
    if len(rows) == problems[0].history.shape[0] and np.array_equal(rows, np.arange(len(rows))):
        return problems
    return [Problem(p.history[rows], p.features[rows], p.origin, p.horizon, p.cat[rows]) for p in problems]


def forecast_group(
    problems: list[Problem], candidates, seed: int, threads: int | None = None, label: str = ""
) -> ChallengerRuns:
    """Every candidate's forecasts for these problems (one group of series): the function each partition runs. A
    candidate that fails is named in ``failed`` with its error (and the group's ``label``); the others still run."""
    runs = ChallengerRuns()
    for name in candidates:
        started = time.perf_counter()
        try:
            runs.forecasts[name] = challenger(name, seed=seed, threads=threads).forecast_all(problems)
        except Exception as error:  # noqa: BLE001 - a failed candidate is left out, the others still compete
            where = f" ({label})" if label else ""
            runs.failed[name] = f"{type(error).__name__}{where}: {error}"
        runs.seconds[name] = time.perf_counter() - started
    return runs


def merge(n: int, parts: list[tuple[np.ndarray, ChallengerRuns]]) -> ChallengerRuns:
    """One ChallengerRuns for the chain from each partition's (rows, runs): a candidate that failed in any
    partition is failed (with the first error); seconds add up."""
    out = ChallengerRuns()
    for rows, runs in parts:
        for name, seconds in runs.seconds.items():
            out.seconds[name] = out.seconds.get(name, 0.0) + seconds
        for name, error in runs.failed.items():
            out.failed.setdefault(name, error)
        for name, arrays in runs.forecasts.items():
            if name not in out.forecasts:
                out.forecasts[name] = [np.zeros((n, a.shape[1])) for a in arrays]
            for target, values in zip(out.forecasts[name], arrays, strict=True):
                target[rows] = values
    for name in out.failed:
        out.forecasts.pop(name, None)
    out.seconds = {name: round(s, 1) for name, s in out.seconds.items()}
    return out


def run_challengers(
    problems: list[Problem],
    families,
    candidates,
    seed: int,
    global_models_by: str = "chain",
    series_per_task: int | None = None,
    threads: int | None = None,
) -> ChallengerRuns:
    """Every challenger on the chain's problems (the backtest windows, then the horizon), partition by partition,
    in this process."""
    n = problems[0].history.shape[0]
    parts = [
        (part.rows, forecast_group(subset(problems, part.rows), part.candidates, seed, threads, part.label))
        for part in partition_plan(families, candidates, global_models_by, series_per_task)
    ]
    return merge(n, parts)


def forecast_rows(rows: np.ndarray, runs: ChallengerRuns) -> pd.DataFrame:
    """A partition's forecasts as rows (series, candidate, window, mean): ``series`` the position in the chain,
    ``window`` 1..K for the backtest windows and K + 1 for the horizon, ``mean`` the h daily values."""
    out: dict[str, list] = {c: [] for c in ROW_COLUMNS}
    for name, arrays in runs.forecasts.items():
        for w, values in enumerate(arrays, start=1):
            out["series"] += rows.tolist()
            out["candidate"] += [name] * len(rows)
            out["window"] += [w] * len(rows)
            out["mean"] += [list(map(float, v)) for v in values]
    return pd.DataFrame(out, columns=list(ROW_COLUMNS))


def read_rows(paths) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows written by :func:`forecast_rows` from Parquet files (Spark's parts or one file): the (series,
    candidate, window) frame and the (rows, h) means beside it, without a Python list per row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(p, columns=list(ROW_COLUMNS)) for p in paths]
    table = pa.concat_tables(tables) if tables else None
    if table is None or table.num_rows == 0:
        return pd.DataFrame(columns=list(ROW_COLUMNS[:3])), np.zeros((0, 0))
    means = table.column("mean").combine_chunks()
    values = means.flatten().to_numpy(zero_copy_only=False).reshape(table.num_rows, -1)
    return table.drop_columns(["mean"]).to_pandas(), values


def runs_from_rows(
    frame: pd.DataFrame, values: np.ndarray, n: int, failed: dict[str, str], seconds: dict[str, float]
) -> ChallengerRuns:
    """The ChallengerRuns that rows written by :func:`forecast_rows` from every partition hold (``frame``: series,
    candidate, window; ``values``: the means, one row each); a candidate missing a series or a window is refused
    rather than published with zeros."""
    out = ChallengerRuns(failed=dict(failed), seconds={k: round(v, 1) for k, v in seconds.items()})
    for name in dict.fromkeys(frame["candidate"].astype(str)):
        if name in failed:
            continue
        at = np.flatnonzero(frame["candidate"].to_numpy() == name)
        windows = int(frame["window"].to_numpy()[at].max())
        series, window = frame["series"].to_numpy()[at], frame["window"].to_numpy()[at]
        slot = (window - 1) * n + series
        if len(at) != n * windows or len(np.unique(slot)) != len(at):
            raise ValueError(
                f"the challengers' forecasts of {name} hold {len(at)} rows, expected one per series and window "
                f"({n} x {windows}): run the backtest again"
            )
        block = np.empty((n * windows, values.shape[1]))
        block[slot] = values[at]
        out.forecasts[name] = list(block.reshape(windows, n, -1))
    return out
