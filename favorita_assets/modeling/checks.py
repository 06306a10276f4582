"""Checks on the DeepAR channels as stored: exactly what SageMaker (or the local trainer) will read."""

import warnings

from dagster import AssetCheckExecutionContext, AssetCheckResult, PreviewWarning, asset_check

from favorita_assets import storage_keys as keys
from favorita_assets.core.deepar_format import DeepARFormatError, validate_lines
from favorita_assets.modeling.assets import deepar_training_data, iter_channel
from favorita_assets.partitions import CUTOFF_PARTITIONS
from favorita_assets.resources.storage import Storage


def _check_stored_channels(context: AssetCheckExecutionContext, storage: Storage) -> AssetCheckResult:
    partition = context.partition_key
    manifest = storage.read_json(keys.training_manifest(partition))
    counts = {}
    for channel in ("train", "test", "inference"):
        records = iter_channel(storage, partition, channel)  # as stored, one record at a time
        try:
            count = validate_lines(
                records, channel, manifest["prediction_length"], num_dynamic_feat=len(manifest["dynamic_feat"])
            )
        except DeepARFormatError as error:
            return AssetCheckResult(passed=False, description=str(error), metadata={"channel": channel})
        counts[f"{channel}_records"] = count
    return AssetCheckResult(passed=True, metadata=counts)


# Partitioned asset checks are a Dagster preview feature; it is what lets this check run per monthly cut-off.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)
    sagemaker_format = asset_check(
        asset=deepar_training_data,
        name="sagemaker_format",
        partitions_def=CUTOFF_PARTITIONS,
        blocking=True,
        description="Every stored channel follows SageMaker DeepAR's JSON Lines rules (start format, numeric targets, "
        "integer cat, dynamic_feat lengths: len(target), or len(target) + prediction_length for inference).",
    )(_check_stored_channels)
