"""A promotion what-if on a published cut-off: the same published models, forecast again with the scenario's
promotions, beside the same models without them (the base plan). Called by the ``promotion_what_if`` job and
``favorita what-if``."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.core import scenarios
from favorita_assets.core.candidates import (
    DEEPAR,
    ENSEMBLE,
    USES_PROMOTIONS,
    blend,
    labels_of,
    stopped_selling,
)
from favorita_assets.core.challengers import run_challengers, subset
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.evaluation import QUANTILES, closed_ahead, history_matrix, problems_from_records, publish
from favorita_assets.modeling.assets import read_channel
from favorita_assets.resources.storage import Storage

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def refit(model: str, problems: list, families: np.ndarray, rows: np.ndarray, summary: dict) -> list[np.ndarray]:
    """A global challenger refitted as the evaluation fitted it (its seed; one model over the chain, or one per
    family when the evaluation split them so: then only the families of ``rows``), forecasting ``problems``; the
    forecasts of ``rows``."""
    split = summary.get("global_models_by", "chain")
    scope = np.flatnonzero(np.isin(families, families[rows])) if split == "family" else np.arange(len(families))
    runs = run_challengers(subset(problems, scope), families[scope], [model], int(summary.get("seed", 0)), split)
    if model in runs.failed:
        raise RuntimeError(f"{model} could not be refitted for the what-if: {runs.failed[model]}")
    at = np.searchsorted(scope, rows)
    return [f[at] for f in runs.forecasts[model]]


def scenario_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_") or "scenario"
    if not NAME.match(name[:63]):
        raise FavoritaDataError(text, "not a usable scenario name", fix="use letters, digits, - and _")
    return name[:63]


@contextmanager
def scenario_file(storage: Storage, path: str) -> Iterator[str]:
    """A local path to read the scenario from: ``path`` itself, or for an ``s3://`` URI (a task on AWS has no file
    of its own to give) a temporary copy of that object, under its own file name so messages name it. Only the
    project's buckets are read: ``s3://<artifacts bucket>/scenarios/inputs/<file>`` is the place for them."""
    if not path.startswith("s3://"):
        yield path
        return
    bucket, _, key = path[len("s3://") :].partition("/")
    if not key or key.endswith("/") or storage.uri(key) != path:
        raise FavoritaDataError(
            path,
            "not an object in the project's buckets",
            fix=f"upload the scenario to {storage.uri('scenarios/inputs/')}<file>.csv and pass that URI",
        )
    try:
        data = storage.read_bytes(key)
    except FileNotFoundError:
        raise FavoritaDataError(path, "no such object", fix="upload the scenario there first") from None
    with tempfile.TemporaryDirectory(prefix="favorita-scenario-") as folder:
        local = Path(folder) / PurePosixPath(key).name
        local.write_bytes(data)
        yield str(local)


def run_what_if(context, storage: Storage, trainer, partition: str, path: str, name: str) -> dict:
    """Forecast ``partition`` under the scenario file ``path`` (local, or s3:// in the project's buckets); writes
    scenarios/cutoff_month=.../scenario=NAME/ (whatif.parquet, summary.json) and returns the summary."""
    manifest = storage.read_json(keys.training_manifest(partition))
    summary = storage.read_json(keys.evaluation_metrics(partition))
    h, k = manifest["prediction_length"], int(manifest.get("backtest_windows", 1))
    cutoff, horizon = pd.Timestamp(manifest["cutoff"]), pd.DatetimeIndex(manifest["horizon"])
    series = pd.DataFrame(manifest["series"]).assign(family=lambda s: s["family"].astype(str))
    stores = set(series["store_nbr"].astype(int))
    with scenario_file(storage, path) as local:
        scenario = scenarios.read_scenario(local, stores, set(series["family"]), horizon)
    changes = scenarios.expand(scenario, sorted(stores))
    inference = read_channel(storage, partition, "inference")
    changed, rows = scenarios.apply(inference, series, horizon, changes)
    families = series["family"].to_numpy()[rows]
    champions = summary["champions"]
    published = {champions[f] for f in set(families)}
    members = summary.get("ensemble_members", []) if ENSEMBLE in published else []
    needed = sorted((published | set(members)) - {ENSEMBLE})  # the ensemble is made from its members' forecasts
    base, scen = {}, {}
    problems = scenario_problem = None
    for model in needed:
        if model == DEEPAR:
            pointer = storage.read_json(keys.model_pointer(partition))
            if not trainer.supports_what_if:
                raise FavoritaDataError(
                    path,
                    f"the scenario's families are published from {pointer.get('label', pointer['version'])}, "
                    "which forecasts only the promotions it imported and cannot forecast a what-if",
                    fix="run the what-if with FAVORITA_MODEL_BACKEND=sagemaker-deepar (a DeepAR model of the "
                    "cut-off), or on families whose published model is a challenger",
                )
            # Two requests of the same size and order: locally the same seeded draws, so sampling noise cancels.
            try:
                for target, records in ((base, inference), (scen, changed)):
                    predictions = trainer.predict(context, storage, pointer, [records[i] for i in rows], QUANTILES)
                    target[model] = {
                        "mean": np.vstack([p["mean"] for p in predictions]),
                        **{q: np.vstack([p[q] for p in predictions]) for q in QUANTILES},
                    }
            finally:
                trainer.release(context, pointer)
        elif not USES_PROMOTIONS[model]:  # its published forecast, unchanged by any promotion
            horizon_table = storage.read_parquet(keys.evaluation_horizon(partition))
            base[model] = scen[model] = {
                "mean": horizon_table[f"{model}_mean"].to_numpy().reshape(len(series), h)[rows]
            }
        else:  # refit with the evaluation's seed and split: the first origin trains the model, as in the evaluation
            if problems is None:
                test = read_channel(storage, partition, "test")
                problems = problems_from_records(test, inference, h, k, cutoff)
                scenario_problem = problems_from_records(test, changed, h, k, cutoff)[k]
            out = refit(model, [problems[0], problems[k], scenario_problem], series["family"].to_numpy(), rows, summary)
            base[model], scen[model] = {"mean": out[1]}, {"mean": out[2]}
    if members:
        for target in (base, scen):
            target[ENSEMBLE] = {"mean": blend([target[m]["mean"] for m in members])}
    closed = closed_ahead(inference, h)[rows]
    stopped = stopped_selling(history_matrix([inference[i] for i in rows], max(len(r["target"]) for r in inference)), h)
    b_mean, b_q, versions = publish(base, champions, summary["offsets"], summary["versions"], families, closed, stopped)
    s_mean, s_q, _ = publish(scen, champions, summary["offsets"], summary["versions"], families, closed, stopped)
    models = np.array([champions[f] for f in families], dtype=object)
    uses = np.array([USES_PROMOTIONS[m] for m in models])
    table = scenarios.lift_frame(
        series, horizon, rows, changes, {"mean": b_mean, **b_q}, {"mean": s_mean, **s_q}, models, versions, uses
    )
    lines = scenarios.summarize(table, labels_of(summary))
    prefix = keys.scenario_prefix(partition, name)
    storage.write_parquet(f"{prefix}/whatif.parquet", table)
    result = {
        "name": name,
        "partition": partition,
        "cutoff": manifest["cutoff"],
        "file": str(path),
        "horizon": [f"{horizon[0]:%Y-%m-%d}", f"{horizon[-1]:%Y-%m-%d}"],
        "series_days": int(len(table)),
        "rows": _records(lines),
        "table": storage.uri(f"{prefix}/whatif.parquet"),
    }
    storage.write_json(f"{prefix}/summary.json", result)
    return result


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def read_what_ifs(storage: Storage, partition: str) -> list[dict]:
    """Every what-if summary kept for a cut-off, newest name order."""
    keys_ = sorted(k for k in storage.list_keys(keys.scenarios_prefix(partition)) if k.endswith("/summary.json"))
    return [storage.read_json(k) for k in keys_]


def what_if_table(rows: list[dict]) -> str:
    """A what-if's result as a Markdown table: per scenario line, the base units and the lift with its band (or why
    there is none)."""
    return (
        "| line | family | stores | days | base units | lift | lift P10..P90 | lift % |\n"
        "|---|---|---|---|---|---|---|---|\n"
        + "\n".join(
            f"| {r['scenario_row']} | {r['family']} | {r['stores']} | {r['first_date']} .. {r['last_date']} | "
            f"{r['base_units']:,.0f} | "
            + (
                "{:,.0f} | {:,.0f} .. {:,.0f} | {} |".format(
                    r["lift_units"],
                    r["lift_p10"],
                    r["lift_p90"],
                    "" if r["lift_pct"] is None else f"{r['lift_pct']:+.1%}",
                )
                if r["lift_units"] is not None
                else f"— | — | {r['note']} |"
            )
            for r in rows
        )
    )
