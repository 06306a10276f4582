"""Per monthly cut-off: the DeepAR channels, the trained model, and the backtest that decides what is published."""

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import pandas as pd
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from favorita_assets import storage_keys as keys
from favorita_assets.checks import check_result
from favorita_assets.core.candidates import (
    CANDIDATES,
    DEEPAR,
)
from favorita_assets.core.channels import horizon_of, training_manifest
from favorita_assets.core.deepar_format import DYNAMIC_FEATURES, compact_record, iter_json_lines_file
from favorita_assets.core.evaluation import QUANTILES
from favorita_assets.dagster_failures import data_errors_as_failures
from favorita_assets.ingest.assets import RAW_ASSET_NAMES, landed_key
from favorita_assets.modeling import backtest as bt
from favorita_assets.modeling.config import DeepARConfig, EvaluationConfig, TrainingDataConfig
from favorita_assets.partitions import CUTOFF_PARTITIONS, check_month, cutoff_of
from favorita_assets.progress import report_epoch
from favorita_assets.resources.alerts import Alerts
from favorita_assets.resources.channels import TABLES as CHANNEL_TABLES
from favorita_assets.resources.channels import ChannelBuilder, ChannelRequest, channel_keys
from favorita_assets.resources.cleaned_series import read_parts
from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer, TrainingRequest
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
    "to the cut-off minus backtest_windows x prediction_length), test (up to the cut-off) and inference "
    "(up to the cut-off, features "
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
                dict(zip(("store", "family", "store_type", "cluster"), manifest["cardinality"], strict=True))
            ),
            "path": MetadataValue.path(storage.uri(prefix)),
            **dict(summary.get("metadata", {})),
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
    identity = trainer.identity()  # another backend or algorithm is another model (nothing for DeepAR)
    digest = hashlib.sha256(
        (
            manifest["fingerprint"]
            + json.dumps(hp, sort_keys=True)
            + str(config.seed)
            + (json.dumps(identity, sort_keys=True) if identity else "")
        ).encode()
    ).hexdigest()
    version = f"{trainer.version_prefix}-{context.partition_key[:7]}-{digest[:10]}"
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
    unknown = sorted(set(config.candidates) - set(CANDIDATES))
    if unknown:
        raise ValueError(f"unknown candidates {unknown}: choose from {', '.join(c for c in CANDIDATES if c != DEEPAR)}")
    test, inference = read_channel(storage, partition, "test"), read_channel(storage, partition, "inference")
    series, k = pd.DataFrame(manifest["series"]), int(manifest.get("backtest_windows", 1))
    context.log.info(
        f"backtest of {model['version']} and {len(config.candidates)} challengers on {len(series):,} series, "
        f"{k} windows of {manifest['prediction_length']} days before {manifest['cutoff']}"
    )
    log = context.log
    predict = partial(trainer.predict, context, storage, model, quantiles=QUANTILES)
    done = bt.run_backtest(manifest, test, inference, predict, config.candidates, config.seed, log.info, log.warning)
    evaluation, runs = done.evaluation, done.runs
    for key, table in bt.stored_tables(done, manifest, partition).items():
        storage.write_parquet(key, table)
    verdict = bt.Verdict.of(evaluation)
    summary = bt.evaluation_summary(partition, manifest, model, config.seed, evaluation, runs, verdict, done.totals)
    storage.write_json(keys.evaluation_metrics(partition), summary)
    context.log.info(verdict.published_line(evaluation.published))
    gate = verdict.gate_text(k, summary["window"])
    if gate is not None:
        trainer.review(context, model, approved=verdict.deepar_won, reason=gate)
        if not verdict.deepar_won:  # the model quality gate
            subject, body = verdict.gate_alert(partition, gate, model["version"], alerts.run_url(context.run_id))
            alerts.publish("quality_gate", subject, body, {"partition": partition, "model_version": model["version"]})
    plain, markdown = bt.evaluation_metadata(evaluation, verdict, summary)
    metadata = {**plain, "failed_candidates": MetadataValue.json(runs.failed)}
    metadata.update({name: MetadataValue.md(text) for name, text in markdown.items()})
    metadata["path"] = MetadataValue.path(storage.uri(keys.evaluation_prefix(partition)))
    checks = bt.evaluation_checks(verdict, runs.failed, evaluation.published)
    return MaterializeResult(
        metadata=metadata,
        check_results=[check_result(c) for c in checks],
        data_version=content_version(json.dumps(summary, sort_keys=True)),
    )
