"""Per monthly cut-off: the DeepAR channels, the trained model, and the backtest that decides what is published."""

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from favorita_assets import storage_keys as keys
from favorita_assets.core import hierarchy
from favorita_assets.core.baselines import BASELINES
from favorita_assets.core.candidates import (
    CANDIDATES,
    DEEPAR,
    ENSEMBLE,
    LABELS,
    challenger,
    ensemble_members,
    labels_of,
)
from favorita_assets.core.channels import horizon_of, training_manifest
from favorita_assets.core.deepar_format import DYNAMIC_FEATURES, compact_record, iter_json_lines_file, window_instances
from favorita_assets.core.evaluation import QUANTILES, evaluate, problems_from_records
from favorita_assets.errors import data_errors_as_failures
from favorita_assets.ingest.assets import RAW_ASSET_NAMES, landed_key
from favorita_assets.modeling.config import DeepARConfig, EvaluationConfig, TrainingDataConfig
from favorita_assets.partitions import CUTOFF_PARTITIONS, check_month, cutoff_of
from favorita_assets.progress import report_epoch
from favorita_assets.resources.alerts import Alerts
from favorita_assets.resources.channels import TABLES as CHANNEL_TABLES
from favorita_assets.resources.channels import ChannelBuilder, ChannelRequest, channel_keys
from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer, TrainingRequest
from favorita_assets.series.dataset import read_parts
from favorita_assets.versions import CODE_VERSIONS, content_version

# What a backend reports about its model that a user looks for on the materialization.
BACKEND_METADATA = (
    "backend",
    "training_job_name",
    "model_name",
    "model_artifact",
    "training_instance_type",
    "predictor_arn",
    "algorithm",
    "billable_seconds",
)


def iter_channel(storage: Storage, partition_key: str, channel: str) -> Iterator[dict]:
    """A stored channel's records as SageMaker reads them (JSON lists), one at a time, from local copies of its
    files in order (one data.json locally, Glue's ordered parts in AWS mode)."""
    for key in channel_keys(storage, keys.training_prefix(partition_key), channel):
        with storage.local_path(key) as path:
            yield from iter_json_lines_file(path)


def read_channel(storage: Storage, partition_key: str, channel: str) -> list[dict]:
    """A stored channel's records as compact records (NumPy arrays, not lists: about 7 times less memory)."""
    return [compact_record(record) for record in iter_channel(storage, partition_key, channel)]


def _data_dates(storage: Storage, pointer: dict) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The cleaned series' first and last day: from the pointer's statistics (no data read), else its date column."""
    stats = pointer.get("stats") or {}
    if stats.get("first_date") and stats.get("last_date"):
        return pd.Timestamp(stats["first_date"]), pd.Timestamp(stats["last_date"])
    dates = read_parts(storage, pointer["parts"], pointer.get("engine", ""), columns=["date"])["date"]
    return dates.min(), dates.max()


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="modeling",
    kinds={"json"},
    code_version=CODE_VERSIONS["deepar_training_data"],
    deps=["cleaned_series", RAW_ASSET_NAMES["test"], RAW_ASSET_NAMES["stores"], RAW_ASSET_NAMES["holidays_events"]],
    description="The cleaned series in SageMaker DeepAR's JSON Lines format, per monthly cut-off: train (history up "
    "to the cut-off minus backtest_windows x prediction_length), test (up to the cut-off) and inference (up to the cut-off, features "
    f"running prediction_length days further). cat = store, family, store type, cluster; dynamic_feat = "
    f'{", ".join(DYNAMIC_FEATURES)}. Closed days are "NaN" targets.',
)
def deepar_training_data(
    context: AssetExecutionContext, config: TrainingDataConfig, storage: Storage, channels: ChannelBuilder
) -> MaterializeResult:
    h = config.prediction_length
    pointer = storage.read_json(keys.CLEANED_SERIES_POINTER)
    first, last = _data_dates(storage, pointer)
    with data_errors_as_failures():
        check_month(
            context.partition_key, first, last, h, source="cleaned_series", backtest_windows=config.backtest_windows
        )
    cutoff = cutoff_of(context.partition_key, last)
    horizon = horizon_of(cutoff, h)
    prefix = keys.training_prefix(context.partition_key)
    request = ChannelRequest(
        cleaned_parts=list(pointer["parts"]),
        cleaned_engine=pointer.get("engine", ""),
        tables={table: landed_key(storage, table) for table in CHANNEL_TABLES},
        cutoff=cutoff,
        prediction_length=h,
        backtest_windows=config.backtest_windows,
        prefix=prefix,
    )
    # Locally: streamed series by series to files in this process. AWS mode: the Glue job builds them; this run
    # only reads the summary it leaves.
    with data_errors_as_failures():
        summary = channels.build(context, storage, request)
    fingerprint = summary["fingerprint"]
    manifest = training_manifest(context.partition_key, cutoff, (first, last), h, config.backtest_windows, summary)
    storage.write_json(keys.training_manifest(context.partition_key), manifest)
    counts, sizes = summary["counts"], summary["sizes"]
    likelihood, small_share, promo_source = (
        summary["likelihood"],
        summary["small_count_share"],
        summary["promotions_source"],
    )
    context.log.info(
        f"cut-off {cutoff:%Y-%m-%d}: {counts['train']:,} train / {counts['test']:,} test / "
        f"{counts['inference']:,} inference records; horizon {horizon[0]:%Y-%m-%d}..{horizon[-1]:%Y-%m-%d}"
    )
    return MaterializeResult(
        metadata={
            "cutoff": f"{cutoff:%Y-%m-%d}",
            "prediction_length": h,
            "horizon": f"{horizon[0]:%Y-%m-%d} .. {horizon[-1]:%Y-%m-%d}",
            "train_series": counts["train"],
            "test_series": counts["test"],
            "train_bytes": MetadataValue.int(sizes["train"]),
            "fingerprint": fingerprint,
            "promotions_source": promo_source,
            "small_count_share": round(small_share, 4),
            "likelihood_auto": likelihood,
            "cardinality": MetadataValue.json(
                dict(zip(("store", "family", "store_type", "cluster"), manifest["cardinality"]))
            ),
            "path": MetadataValue.path(storage.uri(prefix)),
            **{k: v for k, v in summary.get("metadata", {}).items()},
        },
        data_version=DataVersion(summary["data_version"]),
    )


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="modeling",
    kinds={"pytorch"},
    code_version=CODE_VERSIONS["deepar_model"],
    deps=[deepar_training_data],
    description="DeepAR trained on the train channel of this cut-off (GluonTS on torch, CPU, locally; SageMaker's "
    "built-in algorithm in AWS mode), saved as a versioned model.tar.gz with its hyperparameters and the fingerprint "
    "of its training data. A model for the same data and hyperparameters is reused unless force_retrain is set.",
)
def deepar_model(
    context: AssetExecutionContext, config: DeepARConfig, storage: Storage, trainer: DeepARTrainer
) -> MaterializeResult:
    prefix = keys.training_prefix(context.partition_key)
    manifest = storage.read_json(keys.training_manifest(context.partition_key))
    h = manifest["prediction_length"]
    if config.prediction_length is not None and config.prediction_length != h:
        raise ValueError(
            f"deepar_model prediction_length={config.prediction_length} differs from the training data's {h}: "
            "set prediction_length on deepar_training_data (the model takes it from there)"
        )
    hp = config.hyperparameters(h, auto_likelihood=manifest.get("likelihood_auto"))
    if "data_dates" in manifest:  # a context_length set in the run config may need more history than the month has
        with data_errors_as_failures():
            check_month(
                context.partition_key,
                *manifest["data_dates"],
                h,
                context_length=int(hp["context_length"]),
                source="cleaned_series",
                backtest_windows=int(manifest.get("backtest_windows", 1)),
            )
    version = model_version(trainer, context.partition_key, manifest, hp, config.seed)
    info_key = f"{keys.model_prefix(version)}/model.json"
    if storage.exists(info_key) and not config.force_retrain:
        info = storage.read_json(info_key)
        context.log.info(f"model {version} for this data and these hyperparameters is stored: reusing it")
    else:
        losses: list[float] = []

        def on_epoch(epoch: int, epochs: int, loss: float) -> None:
            losses.append(loss)
            report_epoch(context.log, epoch, epochs, loss)

        context.log.info(f"training DeepAR {version} on {prefix}/train: {json.dumps(hp)}")
        started = time.perf_counter()
        request = TrainingRequest(
            version=version,
            channels_prefix=prefix,
            hyperparameters=hp,
            cardinality=manifest["cardinality"],
            model_prefix=keys.model_prefix(version),
            seed=config.seed,
        )
        result = trainer.train(context, storage, request, on_epoch)
        info = {
            "version": version,
            "partition": context.partition_key,
            "cutoff": manifest["cutoff"],
            "hyperparameters": hp,
            "seed": config.seed,
            "training_data_fingerprint": manifest["fingerprint"],
            "seconds": round(time.perf_counter() - started, 1),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "epoch_losses": losses,
            **result,
        }
        storage.write_json(info_key, info)
    pointer = {k: v for k, v in info.items() if k != "epoch_losses"}
    storage.write_json(keys.model_pointer(context.partition_key), pointer)
    losses = info.get("epoch_losses", [])
    return MaterializeResult(
        metadata={
            "model_version": version,
            "training_seconds": info["seconds"],
            "epochs_run": len(losses),
            "final_loss": round(losses[-1], 4) if losses else None,
            "best_loss": round(min(losses), 4) if losses else None,
            "hyperparameters": MetadataValue.json(info["hyperparameters"]),
            "training_data_fingerprint": info["training_data_fingerprint"],
            "artifact": MetadataValue.path(storage.uri(info["model_key"])),
            **{k: str(info[k]) for k in BACKEND_METADATA if k in info},
        },
        data_version=DataVersion(version),
    )


def model_version(trainer: DeepARTrainer, partition: str, manifest: dict, hp: dict, seed: int) -> str:
    """``<prefix>-<YYYY-MM>-<digest>`` of the data the model learns from (the train and test channels' fingerprint),
    its hyperparameters, the seed and the backend (another backend or algorithm is another model; nothing for DeepAR).
    A backend whose forecast comes from the inference channel itself (Amazon Forecast: the predictor's related data
    and its export) also hashes the channels' data version, so a new promotion plan or holiday file makes a new
    version, and with it a new forecast, instead of reusing a stale one."""
    identity = trainer.identity()
    data = manifest["fingerprint"]
    if getattr(trainer, "forecasts_from_inference_channel", False):
        data += manifest.get("data_version", "")
    digest = hashlib.sha256(
        (
            data
            + json.dumps(hp, sort_keys=True)
            + str(seed)
            + (json.dumps(identity, sort_keys=True) if identity else "")
        ).encode()
    ).hexdigest()
    return f"{trainer.version_prefix}-{partition[:7]}-{digest[:10]}"


def challenger_version(name: str, partition: str, fingerprint: str) -> str:
    """What ``forecasts.model_version`` calls a challenger's forecast."""
    if name in BASELINES:
        return f"baseline-{name}-{partition[:7]}"
    return f"{name}-{partition[:7]}-{fingerprint[:10]}"


def _table(rows: dict[str, dict], title: str) -> str:
    lines = [f"| {title} | RMSLE | WAPE | MASE | mean wQL | P10-P90 coverage |", "|---|---|---|---|---|---|"]
    for name, s in rows.items():
        lines.append(
            f"| {name} | {s['rmsle']:.4f} | {s['wape']:.4f} | {s['mase']:.3f} | {s['mean_wql']:.4f} | "
            f"{s['coverage']:.2f} |"
        )
    return "\n".join(lines)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


COVERAGE_RANGE = (0.70, 0.90)


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="modeling",
    kinds={"pandas"},
    code_version=CODE_VERSIONS["forecast_evaluation"],
    deps=[deepar_model],
    check_specs=[
        AssetCheckSpec(
            "deepar_beats_baselines",
            asset="forecast_evaluation",
            description="Warns when DeepAR's mean backtest RMSLE does not beat the best seasonal naive "
            "baseline's (the SageMaker model is then not approved).",
        ),
        AssetCheckSpec(
            "published_coverage",
            asset="forecast_evaluation",
            description="Warns when the published P10-P90 band holds less than 70 % or more than 90 % of "
            "the backtest days (80 % nominal).",
        ),
    ],
    description="Rolling-origin backtest: backtest_windows windows of prediction_length days ending at the cut-off. "
    "DeepAR (trained once, before the first window, and fed the later history as context), the two seasonal naive "
    "baselines, statsforecast CrostonOptimized (intermittent demand) and an mlforecast LightGBM global model (and, "
    "when named in the config, statsforecast MSTL and MFLES: weekly and yearly seasonality) are scored on every "
    "window by RMSLE, WAPE, "
    "MASE, mean wQL and P10-P90 coverage, with bands calibrated on the other windows (cross-conformal). Each "
    "family publishes its champion: the lowest mean RMSLE over the windows. Totals are calibrated the same way.",
)
def forecast_evaluation(
    context: AssetExecutionContext, config: EvaluationConfig, storage: Storage, trainer: DeepARTrainer, alerts: Alerts
) -> MaterializeResult:
    partition = context.partition_key
    manifest = storage.read_json(keys.training_manifest(partition))
    model = storage.read_json(keys.model_pointer(partition))
    h, k = manifest["prediction_length"], int(manifest.get("backtest_windows", 1))
    cutoff = pd.Timestamp(manifest["cutoff"])
    unknown = sorted(set(config.candidates) - set(CANDIDATES))
    if unknown:
        raise ValueError(f"unknown candidates {unknown}: choose from {', '.join(c for c in CANDIDATES if c != DEEPAR)}")
    test = read_channel(storage, partition, "test")
    inference = read_channel(storage, partition, "inference")
    series = pd.DataFrame(manifest["series"])
    n = len(series)
    context.log.info(
        f"backtest of {model['version']} and {len(config.candidates)} challengers on {n:,} series, "
        f"{k} windows of {h} days before {manifest['cutoff']}"
    )
    forecasts, future, failed, seconds = {}, {}, {}, {}
    started = time.perf_counter()
    try:
        predictions = trainer.predict(context, storage, model, window_instances(test, h, k), QUANTILES)
        forecasts[DEEPAR] = {
            key: [np.vstack([p[key] for p in predictions[w * n : (w + 1) * n]]) for w in range(k)]
            for key in ("mean", *QUANTILES)
        }
    except Exception as error:  # noqa: BLE001 - a failed candidate is left out, the others still compete
        failed[DEEPAR] = f"{type(error).__name__}: {error}"
        context.log.warning(f"DeepAR produced no backtest forecasts and is left out: {failed[DEEPAR]}")
    seconds[DEEPAR] = round(time.perf_counter() - started, 1)
    problems = problems_from_records(test, inference, h, k, cutoff)
    for name in config.candidates:
        started = time.perf_counter()
        try:
            out = challenger(name, seed=config.seed).forecast_all(problems)
        except Exception as error:  # noqa: BLE001 - as above
            failed[name] = f"{type(error).__name__}: {error}"
            context.log.warning(f"challenger {name} failed and is left out: {failed[name]}")
            continue
        seconds[name] = round(time.perf_counter() - started, 1)
        forecasts[name], future[name] = out[:k], out[k]
        context.log.info(f"{name}: {seconds[name]} s")
    if not forecasts:
        raise RuntimeError(f"every candidate failed: {failed}")
    evaluation = evaluate(test, h, k, cutoff, series["family"].to_numpy(), forecasts, problems=problems)
    bt = evaluation.backtest
    mix_mean, mix_bands = evaluation.mix()
    totals = hierarchy.backtest_totals(bt.actual, mix_mean, series["store_nbr"].to_numpy(), series["family"].to_numpy())

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
    storage.write_parquet(keys.evaluation_backtest(partition), table)
    horizon_table = pd.DataFrame(
        {
            "date": np.tile(pd.DatetimeIndex(manifest["horizon"]).values, n),
            "store_nbr": np.repeat(series["store_nbr"].to_numpy(), h),
            "family": np.repeat(series["family"].to_numpy(), h),
            **{f"{name}_mean": values.ravel() for name, values in future.items()},
        }
    )
    storage.write_parquet(keys.evaluation_horizon(partition), horizon_table)

    scores = {name: s["overall"] for name, s in evaluation.scores.items()}
    naive = {name: scores[name] for name in BASELINES if name in scores}
    best = min(naive, key=lambda m: naive[m]["rmsle"]) if naive else None
    deepar_won = DEEPAR in scores and best is not None and scores[DEEPAR]["rmsle"] < naive[best]["rmsle"]
    margin = (1 - scores[DEEPAR]["rmsle"] / naive[best]["rmsle"]) if DEEPAR in scores and best else None
    counts = pd.Series(evaluation.champions).value_counts()
    champion = ", ".join(f"{name} ({count} families)" for name, count in counts.items())
    published = evaluation.published
    coverage = published["overall"]["coverage"]
    summary = _jsonable(
        {
            "partition": partition,
            "cutoff": manifest["cutoff"],
            "prediction_length": h,
            "backtest_windows": k,
            "horizon": [manifest["horizon"][0], manifest["horizon"][-1]],
            "windows": [[f"{a:%Y-%m-%d}", f"{b:%Y-%m-%d}"] for a, b in bt.windows],
            "window": [f"{bt.windows[0][0]:%Y-%m-%d}", f"{bt.windows[-1][1]:%Y-%m-%d}"],
            "model_version": model["version"],
            "seed": config.seed,  # the challengers' seed: a what-if refits LightGBM with it, to the same model
            "candidates": {
                name: {
                    "label": model.get("label", LABELS[name]) if name == DEEPAR else LABELS[name],
                    "overall": s["overall"],
                    "windows": s["windows"],
                    "families": s["families"],
                    "seconds": seconds.get(name),
                }
                for name, s in evaluation.scores.items()
            },
            "scores": scores,
            "failed": failed,
            "champions": evaluation.champions,
            "ensemble_members": ensemble_members(evaluation.scores) if ENSEMBLE in evaluation.scores else [],
            "champion": champion,
            "best_baseline": best,
            "deepar_margin": margin,
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
    storage.write_json(keys.evaluation_metrics(partition), summary)

    context.log.info(
        f"published: {champion}; backtest RMSLE {published['overall']['rmsle']:.4f} "
        f"(champions chosen without the window scored: {(published['nested'] or published)['overall']['rmsle']:.4f}), "
        f"P10-P90 coverage {coverage:.2f}"
    )
    if DEEPAR in scores and best is not None:
        verdict = (
            f"DeepAR mean RMSLE {scores[DEEPAR]['rmsle']:.4f} vs {best} {naive[best]['rmsle']:.4f} "
            f"({margin:+.1%}) over {k} backtest windows {summary['window'][0]}..{summary['window'][1]}"
        )
        trainer.review(context, model, approved=deepar_won, reason=verdict)
        if not deepar_won:  # the model quality gate
            alerts.publish(
                "quality_gate",
                f"Favorita {partition[:7]}: DeepAR lost its backtest",
                f"{verdict}.\nModel {model['version']} was not approved; each family is published from its own "
                f"champion ({champion}).\nRun: {alerts.run_url(context.run_id)}\nStep: forecast_evaluation",
                {"partition": partition, "model_version": model["version"]},
            )
    low, high = COVERAGE_RANGE
    checks = [
        AssetCheckResult(
            check_name="deepar_beats_baselines",
            passed=bool(deepar_won),
            severity=AssetCheckSeverity.WARN,
            description=None
            if deepar_won
            else (
                f"DeepAR failed: {failed[DEEPAR]}"
                if DEEPAR in failed
                else f"DeepAR lost the backtest: mean RMSLE {scores[DEEPAR]['rmsle']:.4f} vs {best} "
                f"{naive[best]['rmsle']:.4f} ({-(margin or 0):.1%} worse)"
            ),
            metadata={
                "deepar_rmsle": scores.get(DEEPAR, {}).get("rmsle"),
                "best_baseline_rmsle": naive[best]["rmsle"] if best else None,
                "margin": margin,
            },
        ),
        AssetCheckResult(
            check_name="published_coverage",
            passed=bool(low <= coverage <= high),
            severity=AssetCheckSeverity.WARN,
            description=f"the published P10-P90 band held {coverage:.0%} of the backtest days (per window: "
            + ", ".join(f"{w['coverage']:.0%}" for w in published["windows"])
            + f"); expected {low:.0%}-{high:.0%}",
            metadata={
                "coverage": round(coverage, 4),
                **{f"window_{i + 1}_coverage": round(w["coverage"], 4) for i, w in enumerate(published["windows"])},
            },
        ),
    ]
    window_rows = "\n".join(
        f"| {i + 1} | {a} .. {b} | "
        + " | ".join(f"{evaluation.scores[m]['windows'][i]['rmsle']:.4f}" for m in evaluation.scores)
        + f" | {published['windows'][i]['rmsle']:.4f} | {published['windows'][i]['coverage']:.2f} |"
        for i, (a, b) in enumerate(summary["windows"])
    )
    families_md = "| family | published | RMSLE |\n|---|---|---|\n" + "\n".join(
        f"| {f} | {c} | {published['families'][f]['rmsle']:.4f} |" for f, c in evaluation.champions.items()
    )
    labels = labels_of(summary)
    return MaterializeResult(
        metadata={
            "champion": champion,
            **{f"{m}_{key}": round(v, 4) for m, s in scores.items() for key, v in s.items() if np.isfinite(v)},
            **{f"published_{key}": round(v, 4) for key, v in published["overall"].items() if np.isfinite(v)},
            "published_nested_rmsle": round(published["nested"]["overall"]["rmsle"], 4)
            if published["nested"]
            else None,
            "deepar_margin_vs_best_baseline": round(margin, 4) if margin is not None else None,
            "failed_candidates": MetadataValue.json(failed),
            "scores": MetadataValue.md(
                f"Mean over {k} backtest windows, {summary['window'][0]} .. {summary['window'][1]}\n\n"
                + _table(
                    {**{labels[m]: s for m, s in scores.items()}, "**published mix**": published["overall"]},
                    "candidate",
                )
            ),
            "windows": MetadataValue.md(
                "| window | days | "
                + " | ".join(evaluation.scores)
                + " | published | coverage |\n|"
                + "---|" * (len(evaluation.scores) + 4)
                + "\n"
                + window_rows
            ),
            "champions_by_family": MetadataValue.md(families_md),
            "path": MetadataValue.path(storage.uri(keys.evaluation_prefix(partition))),
        },
        check_results=checks,
        data_version=content_version(json.dumps(summary, sort_keys=True)),
    )
