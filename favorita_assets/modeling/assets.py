"""Per monthly cut-off: the DeepAR channels, the trained model, and the backtest that decides what is published."""

import json
import time
from collections.abc import Iterator
from functools import partial

import pandas as pd
from dagster import AssetCheckSpec, AssetExecutionContext, DataVersion, MaterializeResult, MetadataValue, asset

from favorita_assets import storage_keys as keys
from favorita_assets.checks import check_result
from favorita_assets.core.candidates import check_candidates
from favorita_assets.core.channels import horizon_of, training_manifest
from favorita_assets.core.deepar_format import DYNAMIC_FEATURES, compact_record, iter_json_lines_file
from favorita_assets.core.evaluation import QUANTILES
from favorita_assets.dagster_failures import data_errors_as_failures
from favorita_assets.ingest.assets import RAW_ASSET_NAMES, landed_key
from favorita_assets.modeling import backtest as bt
from favorita_assets.modeling import models
from favorita_assets.modeling.config import DeepARConfig, EvaluationConfig, TrainingDataConfig
from favorita_assets.partitions import CUTOFF_PARTITIONS, check_month, cutoff_of
from favorita_assets.progress import report_epoch
from favorita_assets.resources.alerts import Alerts
from favorita_assets.resources.challengers import ChallengerJob, ChallengerRunner
from favorita_assets.resources.channels import TABLES as CHANNEL_TABLES
from favorita_assets.resources.channels import ChannelBuilder, ChannelRequest, channel_keys
from favorita_assets.resources.cleaned_series import read_parts
from favorita_assets.resources.storage import Storage
from favorita_assets.resources.training import DeepARTrainer
from favorita_assets.versions import CODE_VERSIONS, content_version


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
    manifest = training_manifest(context.partition_key, cutoff, (first, last), h, config.backtest_windows, summary)
    storage.write_json(keys.training_manifest(context.partition_key), manifest)
    context.log.info(models.channels_line(summary, cutoff, horizon))
    metadata = models.channels_metadata(summary, manifest, cutoff, horizon, storage.uri(prefix))
    metadata["train_bytes"] = MetadataValue.int(metadata["train_bytes"])
    metadata["cardinality"] = MetadataValue.json(metadata["cardinality"])
    metadata["path"] = MetadataValue.path(metadata["path"])
    return MaterializeResult(metadata=metadata, data_version=DataVersion(summary["data_version"]))


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
    partition = context.partition_key
    prefix = keys.training_prefix(partition)
    manifest = storage.read_json(keys.training_manifest(partition))
    hp = models.hyperparameters(config, manifest)
    with data_errors_as_failures():
        models.check_history(partition, manifest, hp)
    version = models.trainer_model_version(trainer, partition, manifest, hp, config.seed)
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
        request = models.training_request(version, prefix, hp, manifest, config.seed, config.force_retrain)
        result = trainer.train(context, storage, request, on_epoch)
        seconds = time.perf_counter() - started
        info = models.model_info(version, partition, manifest, hp, config.seed, seconds, losses, result)
        storage.write_json(info_key, info)
    storage.write_json(keys.model_pointer(partition), {k: v for k, v in info.items() if k != "epoch_losses"})
    metadata = models.model_metadata(info, storage.uri(info["model_key"]))
    metadata["hyperparameters"] = MetadataValue.json(metadata["hyperparameters"])
    metadata["artifact"] = MetadataValue.path(metadata["artifact"])
    return MaterializeResult(metadata=metadata, data_version=DataVersion(version))


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
        AssetCheckSpec(
            "published_mean_bias",
            asset="forecast_evaluation",
            description="Warns when the published mean, summed over the backtest's open days, is more than "
            f"{bt.BIAS_TOLERANCE:.0%} above or below the units that sold.",
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
    context: AssetExecutionContext,
    config: EvaluationConfig,
    storage: Storage,
    trainer: DeepARTrainer,
    challengers: ChallengerRunner,
    alerts: Alerts,
) -> MaterializeResult:
    partition = context.partition_key
    with data_errors_as_failures():
        check_candidates(config.candidates)
    manifest = storage.read_json(keys.training_manifest(partition))
    model = storage.read_json(keys.model_pointer(partition))
    job = ChallengerJob(partition, manifest, tuple(config.candidates), config.seed, config.global_models_by)
    test, inference = read_channel(storage, partition, "test"), read_channel(storage, partition, "inference")
    k = int(manifest.get("backtest_windows", 1))
    context.log.info(
        f"backtest of {model['version']} and {len(config.candidates)} challengers on {len(manifest['series']):,} "
        f"series, {k} windows of {manifest['prediction_length']} days before {manifest['cutoff']}"
    )
    predict = partial(trainer.predict, context, storage, model, quantiles=QUANTILES)
    run = partial(challengers.run, context, storage, job)
    done = bt.run_backtest(manifest, test, inference, predict, run, config.seed, context.log.info, context.log.warning)
    evaluation, runs = done.evaluation, done.runs
    verdict = bt.Verdict.of(evaluation)
    summary = bt.evaluation_summary(
        partition, manifest, model, config.seed, evaluation, runs, verdict, done.totals, config.global_models_by
    )
    summary["mean_correction"] = bt.mean_correction(evaluation) if config.mean_correction else {}
    checks = [*bt.evaluation_checks(verdict, runs.failed, evaluation.published), bt.bias_check(evaluation)]
    plain, markdown = bt.evaluation_metadata(evaluation, verdict, summary)
    # Written only once everything above has passed, metrics.json last: the files never disagree with each other.
    for key, table in bt.stored_tables(done, manifest, partition).items():
        storage.write_parquet(key, table)
    storage.write_json(keys.evaluation_metrics(partition), summary)
    context.log.info(verdict.published_line(evaluation.published))
    gate = verdict.gate_text(k, summary["window"])
    if gate is not None:
        trainer.review(context, model, approved=verdict.deepar_won, reason=gate)
        if not verdict.deepar_won:  # the model quality gate
            subject, body = verdict.gate_alert(partition, gate, model["version"], alerts.run_url(context.run_id))
            alerts.publish("quality_gate", subject, body, {"partition": partition, "model_version": model["version"]})
    metadata = {**plain, "failed_candidates": MetadataValue.json(runs.failed)}
    metadata.update({name: MetadataValue.md(text) for name, text in markdown.items()})
    metadata["path"] = MetadataValue.path(storage.uri(keys.evaluation_prefix(partition)))
    return MaterializeResult(
        metadata=metadata,
        check_results=[check_result(c) for c in checks],
        data_version=content_version(json.dumps(summary, sort_keys=True)),
    )
