"""The backtest's plain parts, beside the forecast_evaluation asset: running the candidates, the two stored tables,
the summary (metrics.json), the quality gate's verdict, the two checks and the Markdown a user reads on the
materialization. No Dagster here: the asset loads, calls these, writes and describes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.core import hierarchy
from favorita_assets.core.baselines import BASELINES
from favorita_assets.core.candidates import DEEPAR, ENSEMBLE, LABELS, ensemble_members, labels_of
from favorita_assets.core.challengers import ChallengerRuns, run_challengers
from favorita_assets.core.deepar_format import window_instances
from favorita_assets.core.evaluation import QUANTILES, Evaluation, evaluate, problems_from_records
from favorita_assets.core.quality import CheckOutcome

COVERAGE_RANGE = (0.70, 0.90)  # the published P10-P90 band's expected share of the backtest days (80 % nominal)
# The published mean summed over the backtest's open days, against the units that sold: within this share either way.
# On the real sales the published mix is within 2 % on each window (docs/benchmarks/real-sales.md).
BIAS_TOLERANCE = 0.10


@dataclass
class CandidateRuns:
    """Each candidate's backtest forecasts (per window) and horizon forecast, or why it failed, and its seconds."""

    forecasts: dict[str, object] = field(default_factory=dict)
    future: dict[str, np.ndarray] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def run_candidates(
    predict_deepar: Callable[[], list[dict]],
    n: int,
    k: int,
    make_problems: Callable[[], list],
    run_challengers: Callable[[list], ChallengerRuns],
    log: Callable[[str], None],
    warn: Callable[[str], None],
) -> tuple[CandidateRuns, list]:
    """DeepAR's backtest forecasts (``predict_deepar``: its predictions, window by window, ``n`` series each), then
    the challengers' (``run_challengers``: in this process or on Spark) on the problems ``make_problems`` builds
    (returned too, for the scoring). A candidate that fails is left out, saying why; the others still compete."""
    runs = CandidateRuns()
    started = time.perf_counter()
    try:
        predictions = predict_deepar()
        runs.forecasts[DEEPAR] = {
            key: [np.vstack([p[key] for p in predictions[w * n : (w + 1) * n]]) for w in range(k)]
            for key in ("mean", *QUANTILES)
        }
    except Exception as error:  # noqa: BLE001 - a failed candidate is left out, the others still compete
        runs.failed[DEEPAR] = f"{type(error).__name__}: {error}"
        warn(f"DeepAR produced no backtest forecasts and is left out: {runs.failed[DEEPAR]}")
    runs.seconds[DEEPAR] = round(time.perf_counter() - started, 1)
    problems = make_problems()
    challengers = run_challengers(problems)
    for name, error in challengers.failed.items():
        runs.failed[name] = error
        warn(f"challenger {name} failed and is left out: {error}")
    for name, out in challengers.forecasts.items():
        runs.seconds[name] = challengers.seconds.get(name, 0.0)
        runs.forecasts[name], runs.future[name] = out[:k], out[k]
        log(f"{name}: {runs.seconds[name]} s")
    if not runs.forecasts:
        raise RuntimeError(f"every candidate failed: {runs.failed}")
    return runs, problems


def in_process(
    candidates: list[str], families, seed: int, global_models_by: str = "chain"
) -> Callable[[list], ChallengerRuns]:
    """The challengers run in this process (the embedded default), on the problems they are given."""
    return lambda problems: run_challengers(problems, families, candidates, seed, global_models_by)


@dataclass
class Backtested:
    evaluation: Evaluation
    runs: CandidateRuns
    totals: dict  # the store, family and overall totals of the published mix against the actuals


def run_backtest(
    manifest: dict,
    test: list[dict],
    inference: list[dict],
    predict_deepar: Callable[[list[dict]], list[dict]],
    challengers: Callable[[list], ChallengerRuns] | list[str],
    seed: int,
    log: Callable[[str], None],
    warn: Callable[[str], None],
) -> Backtested:
    """Every candidate forecast over the backtest windows (``predict_deepar``: DeepAR's predictions for the window
    instances it is given; ``challengers``: what runs the challengers on the problems, or just their names, to run
    them here), scored, with each family's champion and the totals of the published mix."""
    h, k = manifest["prediction_length"], int(manifest.get("backtest_windows", 1))
    cutoff = pd.Timestamp(manifest["cutoff"])
    series = pd.DataFrame(manifest["series"])
    families, stores = series["family"].to_numpy(), series["store_nbr"].to_numpy()
    runs, problems = run_candidates(
        lambda: predict_deepar(window_instances(test, h, k)),
        len(series),
        k,
        lambda: problems_from_records(test, inference, h, k, cutoff),
        in_process(challengers, families, seed) if isinstance(challengers, list) else challengers,
        log,
        warn,
    )
    evaluation = evaluate(test, h, k, cutoff, families, runs.forecasts, problems=problems)
    totals = hierarchy.backtest_totals(evaluation.backtest.actual, evaluation.mix()[0], stores, families)
    return Backtested(evaluation, runs, totals)


def backtest_table(evaluation: Evaluation, series: pd.DataFrame, h: int, k: int) -> pd.DataFrame:
    """One row per window, series and day: the actual, each candidate's mean and calibrated band, and the published
    mix (each family's champion) with the model it came from."""
    bt = evaluation.backtest
    n = len(series)
    mix_mean, mix_bands = evaluation.mix()
    table = pd.DataFrame(
        {
            "window": np.repeat(np.arange(1, k + 1), n * h),
            "date": np.concatenate([np.tile(pd.date_range(a, b, freq="D").values, n) for a, b in bt.windows]),
            "store_nbr": np.tile(np.repeat(series["store_nbr"].to_numpy(), h), k),
            "family": np.tile(np.repeat(series["family"].to_numpy(), h), k),
            "actual": bt.actual.ravel(),
            "store_closed": bt.closed.ravel(),
        }
    )
    for name, f in bt.forecasts.items():
        table[f"{name}_mean"] = f["mean"].ravel()
        for q in QUANTILES:
            table[f"{name}_p{int(q * 100)}"] = evaluation.bands[name][q].ravel()
    table["published_mean"] = mix_mean.ravel()
    for q in QUANTILES:
        table[f"published_p{int(q * 100)}"] = mix_bands[q].ravel()
    table["published_model"] = table["family"].astype(str).map(evaluation.champions)
    return table


def horizon_table(horizon: list[str], series: pd.DataFrame, future: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per series and day of the horizon: each challenger's mean forecast."""
    h = len(horizon)
    return pd.DataFrame(
        {
            "date": np.tile(pd.DatetimeIndex(horizon).values, len(series)),
            "store_nbr": np.repeat(series["store_nbr"].to_numpy(), h),
            "family": np.repeat(series["family"].to_numpy(), h),
            **{f"{name}_mean": values.ravel() for name, values in future.items()},
        }
    )


def stored_tables(done: Backtested, manifest: dict, partition: str) -> dict[str, pd.DataFrame]:
    """What the backtest stores, by key: the backtest table and the challengers' horizon forecasts."""
    series = pd.DataFrame(manifest["series"])
    h, k = manifest["prediction_length"], int(manifest.get("backtest_windows", 1))
    return {
        keys.evaluation_backtest(partition): backtest_table(done.evaluation, series, h, k),
        keys.evaluation_horizon(partition): horizon_table(manifest["horizon"], series, done.runs.future),
    }


@dataclass
class Verdict:
    """How DeepAR fared against the best seasonal naive baseline, and what each family publishes."""

    scores: dict[str, dict]
    naive: dict[str, dict]
    best: str | None
    deepar_won: bool
    margin: float | None
    champion: str

    @classmethod
    def of(cls, evaluation: Evaluation) -> Verdict:
        scores = {name: s["overall"] for name, s in evaluation.scores.items()}
        naive = {name: scores[name] for name in BASELINES if name in scores}
        best = min(naive, key=lambda m: naive[m]["rmsle"]) if naive else None
        deepar_won = DEEPAR in scores and best is not None and scores[DEEPAR]["rmsle"] < naive[best]["rmsle"]
        margin = (1 - scores[DEEPAR]["rmsle"] / naive[best]["rmsle"]) if DEEPAR in scores and best else None
        counts = pd.Series(evaluation.champions).value_counts()
        champion = ", ".join(f"{name} ({count} families)" for name, count in counts.items())
        return cls(scores, naive, best, bool(deepar_won), margin, champion)

    def published_line(self, published: dict) -> str:
        """The log line on what is published and how it scored."""
        return (
            f"published: {self.champion}; backtest RMSLE {published['overall']['rmsle']:.4f} (champions chosen "
            f"without the window scored: {(published['nested'] or published)['overall']['rmsle']:.4f}), "
            f"P10-P90 coverage {published['overall']['coverage']:.2f}"
        )

    def gate_alert(self, partition: str, gate: str, model_version: str, run_url: str) -> tuple[str, str]:
        """The quality gate's alert when DeepAR lost: its subject and body."""
        return (
            f"Favorita {partition[:7]}: DeepAR lost its backtest",
            f"{gate}.\nModel {model_version} was not approved; each family is published from its own "
            f"champion ({self.champion}).\nRun: {run_url}\nStep: forecast_evaluation",
        )

    def gate_text(self, k: int, window: list[str]) -> str | None:
        """The quality gate's verdict on DeepAR, or None when there is nothing to judge (DeepAR or every baseline
        is missing)."""
        if DEEPAR not in self.scores or self.best is None:
            return None
        return (
            f"DeepAR mean RMSLE {self.scores[DEEPAR]['rmsle']:.4f} vs {self.best} {self.naive[self.best]['rmsle']:.4f} "
            f"({self.margin:+.1%}) over {k} backtest windows {window[0]}..{window[1]}"
        )


def jsonable(value):
    """``value`` as JSON can hold it: string keys, lists, rounded floats (NaN and infinity as null), ints."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def challenger_version(name: str, partition: str, fingerprint: str) -> str:
    """What ``forecasts.model_version`` calls a challenger's forecast."""
    if name in BASELINES:
        return f"baseline-{name}-{partition[:7]}"
    return f"{name}-{partition[:7]}-{fingerprint[:10]}"


def evaluation_summary(
    partition: str,
    manifest: dict,
    model: dict,
    seed: int,
    evaluation: Evaluation,
    runs: CandidateRuns,
    verdict: Verdict,
    totals: dict,
    global_models_by: str = "chain",
) -> dict:
    """metrics.json: the windows, every candidate's scores (overall, per window, per family), the champions, the
    published mix's scores, the calibration offsets, the totals and the version each forecast will carry."""
    bt = evaluation.backtest
    published = evaluation.published
    return jsonable(
        {
            "partition": partition,
            "cutoff": manifest["cutoff"],
            "prediction_length": manifest["prediction_length"],
            "backtest_windows": int(manifest.get("backtest_windows", 1)),
            "horizon": [manifest["horizon"][0], manifest["horizon"][-1]],
            "windows": [[f"{a:%Y-%m-%d}", f"{b:%Y-%m-%d}"] for a, b in bt.windows],
            "window": [f"{bt.windows[0][0]:%Y-%m-%d}", f"{bt.windows[-1][1]:%Y-%m-%d}"],
            "model_version": model["version"],
            "seed": seed,  # the challengers' seed: a what-if refits LightGBM with it, to the same model
            "global_models_by": global_models_by,  # and the same split: one model over the chain, or one per family
            "candidates": {
                name: {
                    "label": model.get("label", LABELS[name]) if name == DEEPAR else LABELS[name],
                    "overall": s["overall"],
                    "windows": s["windows"],
                    "families": s["families"],
                    "seconds": runs.seconds.get(name),
                }
                for name, s in evaluation.scores.items()
            },
            "scores": verdict.scores,
            "failed": runs.failed,
            "champions": evaluation.champions,
            "ensemble_members": ensemble_members(evaluation.scores) if ENSEMBLE in evaluation.scores else [],
            "champion": verdict.champion,
            "best_baseline": verdict.best,
            "deepar_margin": verdict.margin,
            "published": {
                "overall": published["overall"],
                "windows": published["windows"],
                "families": published["families"],
                "nested": published["nested"],
            },
            "offsets": evaluation.offsets,
            "totals": totals,
            "versions": {
                name: (
                    model["version"] if name == DEEPAR else challenger_version(name, partition, manifest["fingerprint"])
                )
                for name in evaluation.scores
            },
        }
    )


def evaluation_checks(verdict: Verdict, failed: dict[str, str], published: dict) -> list[CheckOutcome]:
    """deepar_beats_baselines (DeepAR's mean RMSLE below the best seasonal naive baseline's) and published_coverage
    (the published P10-P90 band held between 70 % and 90 % of the backtest days)."""
    scores, naive, best, margin = verdict.scores, verdict.naive, verdict.best, verdict.margin
    coverage = published["overall"]["coverage"]
    low, high = COVERAGE_RANGE
    if verdict.deepar_won:
        lost = None
    elif DEEPAR in failed:
        lost = f"DeepAR failed: {failed[DEEPAR]}"
    elif best is None:
        lost = "no seasonal naive baseline was scored, so DeepAR could not be judged: " + (
            "; ".join(f"{name}: {failed[name]}" for name in BASELINES if name in failed) or "none was named"
        )
    else:
        lost = (
            f"DeepAR lost the backtest: mean RMSLE {scores[DEEPAR]['rmsle']:.4f} vs {best} "
            f"{naive[best]['rmsle']:.4f} ({-(margin or 0):.1%} worse)"
        )
    return [
        CheckOutcome(
            "deepar_beats_baselines",
            verdict.deepar_won,
            lost,
            {
                "deepar_rmsle": scores.get(DEEPAR, {}).get("rmsle"),
                "best_baseline_rmsle": naive[best]["rmsle"] if best else None,
                "margin": margin,
            },
        ),
        CheckOutcome(
            "published_coverage",
            bool(low <= coverage <= high),
            f"the published P10-P90 band held {coverage:.0%} of the backtest days (per window: "
            + ", ".join(f"{w['coverage']:.0%}" for w in published["windows"])
            + f"); expected {low:.0%}-{high:.0%}",
            {
                "coverage": round(coverage, 4),
                **{f"window_{i + 1}_coverage": round(w["coverage"], 4) for i, w in enumerate(published["windows"])},
            },
        ),
    ]


def mean_bias(evaluation: Evaluation) -> dict[str, object]:
    """The published mean's bias on the backtest: sum of the means over sum of the actuals on the open days (1.0:
    unbiased; below 1: the means run low), over all windows and per window."""
    bt = evaluation.backtest
    mean = evaluation.mix()[0]
    open_days = ~bt.closed

    def ratio(m: np.ndarray, a: np.ndarray, keep: np.ndarray) -> float:
        actual = float(a[keep].sum())
        return float(m[keep].sum()) / actual if actual > 0 else float("nan")

    return {
        "ratio": ratio(mean, bt.actual, open_days),
        "windows": [ratio(mean[w], bt.actual[w], open_days[w]) for w in range(bt.k)],
    }


MEAN_CORRECTION_RANGE = (0.5, 2.0)  # a family's correction factor is clipped to this range


def mean_correction(evaluation: Evaluation) -> dict[str, float]:
    """Per family, the factor that makes the published mean unbiased on the backtest: the units sold over the
    published mean's units, on the open days of every window (1.0 where nothing sold or nothing was forecast),
    clipped to MEAN_CORRECTION_RANGE. Applied to the horizon's means when the run asks for it (mean_correction)."""
    bt = evaluation.backtest
    mean = evaluation.mix()[0]
    open_days = ~bt.closed
    low, high = MEAN_CORRECTION_RANGE
    factors = {}
    for family in np.unique(bt.families):
        rows = bt.families == family
        keep = open_days[:, rows]
        sold, forecast = float(bt.actual[:, rows][keep].sum()), float(mean[:, rows][keep].sum())
        factors[str(family)] = float(np.clip(sold / forecast, low, high)) if sold > 0 and forecast > 0 else 1.0
    return factors


def bias_check(evaluation: Evaluation) -> CheckOutcome:
    """published_mean_bias: the published mean's total over the backtest's open days within BIAS_TOLERANCE of what
    sold (a warning: a mean that runs low or high over-/under-states the totals planners add up)."""
    bias = mean_bias(evaluation)
    ratio, windows = bias["ratio"], bias["windows"]
    passed = bool(np.isfinite(ratio) and abs(ratio - 1) <= BIAS_TOLERANCE)
    return CheckOutcome(
        "published_mean_bias",
        passed,
        f"the published mean summed to {ratio:.1%} of what sold over the backtest days (per window: "
        + ", ".join(f"{w:.1%}" for w in windows)
        + f"); expected within {BIAS_TOLERANCE:.0%} of 100%",
        {"ratio": round(ratio, 4), **{f"window_{i + 1}_ratio": round(w, 4) for i, w in enumerate(windows)}},
    )


def scores_table(rows: dict[str, dict], title: str) -> str:
    """A Markdown table of RMSLE, WAPE, MASE, mean wQL and P10-P90 coverage, one row per entry of ``rows``."""
    lines = [f"| {title} | RMSLE | WAPE | MASE | mean wQL | P10-P90 coverage |", "|---|---|---|---|---|---|"]
    for name, s in rows.items():
        lines.append(
            f"| {name} | {s['rmsle']:.4f} | {s['wape']:.4f} | {s['mase']:.3f} | {s['mean_wql']:.4f} | "
            f"{s['coverage']:.2f} |"
        )
    return "\n".join(lines)


def evaluation_metadata(evaluation: Evaluation, verdict: Verdict, summary: dict) -> tuple[dict, dict[str, str]]:
    """What the materialization shows: the plain values (every score rounded, the champion, the margin), and the
    three Markdown tables (scores over the windows, per window, the champion of each family)."""
    scores, published, margin = verdict.scores, evaluation.published, verdict.margin
    plain = {
        "champion": verdict.champion,
        **{f"{m}_{key}": round(v, 4) for m, s in scores.items() for key, v in s.items() if np.isfinite(v)},
        **{f"published_{key}": round(v, 4) for key, v in published["overall"].items() if np.isfinite(v)},
        "published_nested_rmsle": round(published["nested"]["overall"]["rmsle"], 4) if published["nested"] else None,
        "deepar_margin_vs_best_baseline": round(margin, 4) if margin is not None else None,
    }
    window_rows = "\n".join(
        f"| {i + 1} | {a} .. {b} | "
        + " | ".join(f"{evaluation.scores[m]['windows'][i]['rmsle']:.4f}" for m in evaluation.scores)
        + f" | {published['windows'][i]['rmsle']:.4f} | {published['windows'][i]['coverage']:.2f} |"
        for i, (a, b) in enumerate(summary["windows"])
    )
    labels = labels_of(summary)
    markdown = {
        "scores": f"Mean over {summary['backtest_windows']} backtest windows, "
        f"{summary['window'][0]} .. {summary['window'][1]}\n\n"
        + scores_table(
            {**{labels[m]: s for m, s in scores.items()}, "**published mix**": published["overall"]}, "candidate"
        ),
        "windows": "| window | days | "
        + " | ".join(evaluation.scores)
        + " | published | coverage |\n|"
        + "---|" * (len(evaluation.scores) + 4)
        + "\n"
        + window_rows,
        "champions_by_family": "| family | published | RMSLE |\n|---|---|---|\n"
        + "\n".join(
            f"| {f} | {c} | {published['families'][f]['rmsle']:.4f} |" for f, c in evaluation.champions.items()
        ),
    }
    return plain, markdown
