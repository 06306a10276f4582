"""Per monthly cut-off: the DeepAR channels, the trained model, and the backtest that decides what is published."""

import hashlib
from datetime import datetime, timezone
import json
import time

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
from favorita_assets.series.dataset import read_cleaned_series
from favorita_assets.core.deepar_format import (
    DYNAMIC_FEATURES,
    build_channels,
    read_json_lines,
    suggest_likelihood,
    to_json_lines,
)
from favorita_assets.core.evaluation import QUANTILES, choose_champion, run_backtest
from favorita_assets.resources.alerts import Alerts
from favorita_assets.core.features import horizon_features, known_promotions, recurring_closures
from favorita_assets.errors import data_errors_as_failures
from favorita_assets.ingest.assets import RAW_ASSET_NAMES, read_landed
from favorita_assets.modeling.config import DeepARConfig, TrainingDataConfig
from favorita_assets.partitions import CUTOFF_PARTITIONS, check_month, cutoff_of
from favorita_assets.progress import report_epoch
from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer, TrainingRequest
from favorita_assets.versions import CODE_VERSIONS, content_version

# What a backend reports about its model that a user looks for on the materialization.
BACKEND_METADATA = ("backend", "training_job_name", "model_name", "model_artifact", "training_instance_type",
                    "billable_seconds")  # fmt: skip


def read_channel(storage: Storage, partition_key: str, channel: str) -> list[dict]:
    return list(read_json_lines(storage.read_bytes(f"{keys.training_prefix(partition_key)}/{channel}/data.json")))


def _by_day_of_year(closures: pd.DataFrame) -> dict[str, list[int]]:
    """{"01-01": [stores closed every 1 January], ...}"""
    out: dict[str, list[int]] = {}
    for store, month, day in closures[["store_nbr", "month", "day"]].itertuples(index=False):
        out.setdefault(f"{month:02d}-{day:02d}", []).append(int(store))
    return out


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="modeling",
    kinds={"json"},
    code_version=CODE_VERSIONS["deepar_training_data"],
    deps=["cleaned_series", RAW_ASSET_NAMES["test"], RAW_ASSET_NAMES["stores"], RAW_ASSET_NAMES["holidays_events"]],
    description="The cleaned series in SageMaker DeepAR's JSON Lines format, per monthly cut-off: train (history up "
    "to cut-off minus prediction_length), test (up to the cut-off) and inference (up to the cut-off, features "
    f"running prediction_length days further). cat = store, family, store type, cluster; dynamic_feat = "
    f"{', '.join(DYNAMIC_FEATURES)}. Closed days are \"NaN\" targets.",
)  # fmt: skip
def deepar_training_data(context: AssetExecutionContext, config: TrainingDataConfig, storage: Storage) -> MaterializeResult:
    h = config.prediction_length
    cleaned = read_cleaned_series(storage)
    first, last = cleaned["date"].min(), cleaned["date"].max()
    with data_errors_as_failures():
        check_month(context.partition_key, first, last, h, source="cleaned_series")
    cutoff = cutoff_of(context.partition_key, last)
    horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=h, freq="D")
    stores, holidays = read_landed(storage, "stores"), read_landed(storage, "holidays_events")
    promotions, promo_source = known_promotions(read_landed(storage, "test"), cleaned, horizon)
    at_cutoff = cleaned[cleaned["date"] <= cutoff]
    closures = recurring_closures(at_cutoff)  # the stores' yearly closures, known ahead of the horizon
    future = horizon_features(at_cutoff[["store_nbr", "family"]], horizon, stores, holidays, promotions, closures)
    channels = build_channels(at_cutoff, cutoff, h, future)
    prefix = keys.training_prefix(context.partition_key)
    blobs = {name: to_json_lines(getattr(channels, name)) for name in ("train", "test", "inference")}
    fingerprint = hashlib.sha256(blobs["train"] + blobs["test"]).hexdigest()
    likelihood, small_share = suggest_likelihood(channels.train)
    for name, blob in blobs.items():
        storage.write_bytes(f"{prefix}/{name}/data.json", blob)
    manifest = {
        "partition": context.partition_key,
        "cutoff": f"{cutoff:%Y-%m-%d}",
        "data_dates": [f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"],
        "prediction_length": h,
        "horizon": [f"{d:%Y-%m-%d}" for d in horizon],
        "dynamic_feat": list(DYNAMIC_FEATURES),
        "encoding": channels.encoding.to_dict(),
        "cardinality": channels.encoding.cardinality,
        "series": channels.series.to_dict(orient="list"),
        "fingerprint": fingerprint,
        "promotions_source": promo_source,
        "small_count_share": round(small_share, 4),
        "likelihood_auto": likelihood,
        "yearly_closures": _by_day_of_year(closures),
    }
    storage.write_json(keys.training_manifest(context.partition_key), manifest)
    context.log.info(
        f"cut-off {cutoff:%Y-%m-%d}: {len(channels.train):,} train / {len(channels.test):,} test / "
        f"{len(channels.inference):,} inference records; horizon {horizon[0]:%Y-%m-%d}..{horizon[-1]:%Y-%m-%d}"
    )
    return MaterializeResult(
        metadata={
            "cutoff": f"{cutoff:%Y-%m-%d}",
            "prediction_length": h,
            "horizon": f"{horizon[0]:%Y-%m-%d} .. {horizon[-1]:%Y-%m-%d}",
            "train_series": len(channels.train),
            "test_series": len(channels.test),
            "train_bytes": MetadataValue.int(len(blobs["train"])),
            "fingerprint": fingerprint,
            "promotions_source": promo_source,
            "small_count_share": round(small_share, 4),
            "likelihood_auto": likelihood,
            "cardinality": MetadataValue.json(dict(zip(("store", "family", "store_type", "cluster"), channels.encoding.cardinality))),
            "path": MetadataValue.path(storage.uri(prefix)),
        },
        data_version=content_version(*blobs.values()),
    )  # fmt: skip


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
def deepar_model(context: AssetExecutionContext, config: DeepARConfig, storage: Storage, trainer: DeepARTrainer) -> MaterializeResult:
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
            check_month(context.partition_key, *manifest["data_dates"], h,
                        context_length=int(hp["context_length"]), source="cleaned_series")  # fmt: skip
    digest = hashlib.sha256(
        (manifest["fingerprint"] + json.dumps(hp, sort_keys=True) + str(config.seed)).encode()
    ).hexdigest()
    version = f"deepar-{context.partition_key[:7]}-{digest[:10]}"
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
            version=version, channels_prefix=prefix, hyperparameters=hp, cardinality=manifest["cardinality"],
            model_prefix=keys.model_prefix(version), seed=config.seed,
        )  # fmt: skip
        result = trainer.train(context, storage, request, on_epoch)
        info = {
            "version": version,
            "partition": context.partition_key,
            "cutoff": manifest["cutoff"],
            "hyperparameters": hp,
            "seed": config.seed,
            "training_data_fingerprint": manifest["fingerprint"],
            "seconds": round(time.perf_counter() - started, 1),
            "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
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


@asset(
    partitions_def=CUTOFF_PARTITIONS,
    group_name="modeling",
    kinds={"pandas"},
    code_version=CODE_VERSIONS["forecast_evaluation"],
    deps=[deepar_model],
    check_specs=[AssetCheckSpec("deepar_beats_baselines", asset="forecast_evaluation",
                                description="Warns when DeepAR's backtest RMSLE does not beat the best baseline.")],
    description="Backtest on the last prediction_length days before the cut-off: DeepAR (trained without those days) "
    "against two baselines computed in the same run (last week repeated; mean of the last 4 same weekdays), scored "
    "by RMSLE (Kaggle's pooled formula), WAPE, MASE and mean weighted quantile loss. The champion rule picks what "
    "is published: DeepAR when its RMSLE beats the best baseline's, otherwise that baseline.",
)  # fmt: skip
def forecast_evaluation(
    context: AssetExecutionContext, storage: Storage, trainer: DeepARTrainer, alerts: Alerts
) -> MaterializeResult:
    manifest = storage.read_json(keys.training_manifest(context.partition_key))
    model = storage.read_json(keys.model_pointer(context.partition_key))
    h = manifest["prediction_length"]
    test = read_channel(storage, context.partition_key, "test")
    context.log.info(f"backtest of {model['version']} on {len(test):,} series, {h} days before {manifest['cutoff']}")
    deepar = trainer.predict(context, storage, model, test, QUANTILES, cut=h)
    backtest = run_backtest(test, h, deepar)
    scores = backtest.scores()
    champion = choose_champion(scores)

    window = pd.date_range(end=pd.Timestamp(manifest["cutoff"]), periods=h, freq="D")
    series = pd.DataFrame(manifest["series"])
    table = pd.DataFrame(
        {
            "date": np.tile(window.values, len(series)),
            "store_nbr": np.repeat(series["store_nbr"].to_numpy(), h),
            "family": np.repeat(series["family"].to_numpy(), h),
            "actual": backtest.actual.ravel(),
        }
    )
    for method, f in backtest.forecasts.items():
        table[f"{method}_mean"] = f["mean"].ravel()
        for q in QUANTILES:
            table[f"{method}_p{int(q * 100)}"] = f[q].ravel()
    prefix = keys.evaluation_prefix(context.partition_key)
    storage.write_parquet(keys.evaluation_backtest(context.partition_key), table)
    summary = {
        "partition": context.partition_key,
        "cutoff": manifest["cutoff"],
        "prediction_length": h,
        "horizon": [manifest["horizon"][0], manifest["horizon"][-1]],
        "window": [f"{window[0]:%Y-%m-%d}", f"{window[-1]:%Y-%m-%d}"],
        "model_version": model["version"],
        "scores": scores,
        "champion": champion.method,
        "best_baseline": champion.best_baseline,
        "deepar_margin": champion.margin,
    }
    storage.write_json(keys.evaluation_metrics(context.partition_key), summary)

    rows = "\n".join(
        f"| {m} | {s['rmsle']:.4f} | {s['wape']:.4f} | {s['mase']:.3f} | {s['mean_wql']:.4f} |" for m, s in scores.items()
    )
    margin = champion.margin or 0.0
    context.log.info(f"champion: {champion.method} (DeepAR RMSLE {champion.deepar_rmsle:.4f} vs "
                     f"{champion.best_baseline} {champion.baseline_rmsle:.4f}, margin {margin:+.1%})")  # fmt: skip
    verdict = (f"DeepAR RMSLE {champion.deepar_rmsle:.4f} vs {champion.best_baseline} {champion.baseline_rmsle:.4f} "
               f"({margin:+.1%}) in the backtest {window[0]:%Y-%m-%d}..{window[-1]:%Y-%m-%d}")  # fmt: skip
    trainer.review(context, model, approved=champion.deepar_won, reason=verdict)
    if not champion.deepar_won:  # the model quality gate
        alerts.publish(
            "quality_gate",
            f"Favorita {context.partition_key[:7]}: DeepAR lost its backtest",
            f"{verdict}.\nPublished forecasts come from {champion.best_baseline}; model {model['version']} was not "
            f"approved.\nRun: {alerts.run_url(context.run_id)}\nStep: forecast_evaluation",
            {"partition": context.partition_key, "model_version": model["version"]},
        )
    check = AssetCheckResult(
        check_name="deepar_beats_baselines",
        passed=champion.deepar_won,
        severity=AssetCheckSeverity.WARN,
        description=None if champion.deepar_won else (
            f"DeepAR lost the backtest: RMSLE {champion.deepar_rmsle:.4f} vs {champion.best_baseline} "
            f"{champion.baseline_rmsle:.4f} ({-margin:.1%} worse); the published forecasts come from {champion.best_baseline}"
        ),
        metadata={"deepar_rmsle": champion.deepar_rmsle, "best_baseline_rmsle": champion.baseline_rmsle,
                  "margin": round(margin, 4)},
    )  # fmt: skip
    return MaterializeResult(
        metadata={
            "champion": champion.method,
            **{f"{m}_{k}": round(v, 4) for m, s in scores.items() for k, v in s.items()},
            "deepar_margin_vs_best_baseline": round(margin, 4),
            "scores": MetadataValue.md(
                f"Backtest {window[0]:%Y-%m-%d} .. {window[-1]:%Y-%m-%d}\n\n"
                "| method | RMSLE | WAPE | MASE | mean wQL |\n|---|---|---|---|---|\n" + rows
            ),
            "path": MetadataValue.path(storage.uri(prefix)),
        },
        check_results=[check],
        data_version=content_version(json.dumps(summary, sort_keys=True)),
    )
