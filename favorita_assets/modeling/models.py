"""The plain parts of deepar_training_data and deepar_model: what the channels' materialization shows; the model's
hyperparameters, its version (a digest of what it was trained on and how), the record stored with it, and what its
materialization shows. No Dagster here."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pandas as pd

from favorita_assets import storage_keys as keys
from favorita_assets.modeling.config import DeepARConfig
from favorita_assets.partitions import check_month
from favorita_assets.resources.training import TrainingRequest

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


def channels_line(summary: dict, cutoff: pd.Timestamp, horizon: pd.DatetimeIndex) -> str:
    """The log line on the channels built: records per channel and the horizon."""
    counts = summary["counts"]
    return (
        f"cut-off {cutoff:%Y-%m-%d}: {counts['train']:,} train / {counts['test']:,} test / "
        f"{counts['inference']:,} inference records; horizon {horizon[0]:%Y-%m-%d}..{horizon[-1]:%Y-%m-%d}"
    )


def channels_metadata(
    summary: dict, manifest: dict, cutoff: pd.Timestamp, horizon: pd.DatetimeIndex, path: str
) -> dict[str, object]:
    """What the channels' materialization shows: the cut-off and horizon, the series per channel, the training
    data's fingerprint and size, where promotions came from, the suggested likelihood, the categories' cardinality,
    where the channels are, and what the channel builder adds (``summary["metadata"]``)."""
    return {
        "cutoff": f"{cutoff:%Y-%m-%d}",
        "prediction_length": manifest["prediction_length"],
        "horizon": f"{horizon[0]:%Y-%m-%d} .. {horizon[-1]:%Y-%m-%d}",
        "train_series": summary["counts"]["train"],
        "test_series": summary["counts"]["test"],
        "train_bytes": summary["sizes"]["train"],
        "fingerprint": summary["fingerprint"],
        "promotions_source": summary["promotions_source"],
        "small_count_share": round(summary["small_count_share"], 4),
        "likelihood_auto": summary["likelihood"],
        "cardinality": dict(zip(("store", "family", "store_type", "cluster"), manifest["cardinality"], strict=True)),
        "path": path,
        **dict(summary.get("metadata", {})),
    }


def hyperparameters(config: DeepARConfig, manifest: dict) -> dict:
    """DeepAR's hyperparameters for this training data: the horizon is the training data's, the likelihood the one
    the data suggests unless the config names one. A prediction_length in the config that differs is refused."""
    h = manifest["prediction_length"]
    if config.prediction_length is not None and config.prediction_length != h:
        raise ValueError(
            f"deepar_model prediction_length={config.prediction_length} differs from the training data's {h}: "
            "set prediction_length on deepar_training_data (the model takes it from there)"
        )
    return config.hyperparameters(h, auto_likelihood=manifest.get("likelihood_auto"))


def check_history(partition: str, manifest: dict, hp: dict) -> None:
    """Refuse (FavoritaDataError) a context_length, set in the run config, that needs more history than the month
    has; training data written before the manifest held its data dates is not checked."""
    if "data_dates" in manifest:
        check_month(
            partition,
            *manifest["data_dates"],
            manifest["prediction_length"],
            context_length=int(hp["context_length"]),
            source="cleaned_series",
            backtest_windows=int(manifest.get("backtest_windows", 1)),
        )


def training_request(
    version: str, channels_prefix: str, hp: dict, manifest: dict, seed: int, retrain: bool = False
) -> TrainingRequest:
    """What the trainer backend is asked to train: this version, on these channels, with these hyperparameters
    (``retrain``: not from a training of this version the backend finished earlier)."""
    return TrainingRequest(
        version=version,
        channels_prefix=channels_prefix,
        hyperparameters=hp,
        cardinality=manifest["cardinality"],
        model_prefix=keys.model_prefix(version),
        seed=seed,
        retrain=retrain,
    )


def model_version(
    prefix: str, partition: str, manifest: dict, hp: dict, seed: int, identity: dict | None, data_version: str = ""
) -> str:
    """``<prefix>-<YYYY-MM>-<digest>``: the same training data, hyperparameters, seed and backend (``identity``:
    another backend or algorithm is another model) give the same version, so a stored model is reused.
    ``data_version``: the channels' data version, for a backend whose forecast comes from the inference channel
    itself (see :func:`trainer_model_version`)."""
    digest = hashlib.sha256(
        (
            manifest["fingerprint"]
            + data_version
            + json.dumps(hp, sort_keys=True)
            + str(seed)
            + (json.dumps(identity, sort_keys=True) if identity else "")
        ).encode()
    ).hexdigest()
    return f"{prefix}-{partition[:7]}-{digest[:10]}"


def trainer_model_version(trainer, partition: str, manifest: dict, hp: dict, seed: int) -> str:
    """The version of the model ``trainer`` makes. A backend whose forecast comes from the inference channel itself
    (Amazon Forecast: the predictor's related data and its export) also hashes the channels' data version, so a new
    promotion plan or holiday file makes a new version, and with it a new forecast, instead of reusing a stale one."""
    inference = getattr(trainer, "forecasts_from_inference_channel", False)
    data_version = manifest.get("data_version", "") if inference else ""
    return model_version(trainer.version_prefix, partition, manifest, hp, seed, trainer.identity(), data_version)


def model_info(
    version: str,
    partition: str,
    manifest: dict,
    hp: dict,
    seed: int,
    seconds: float,
    losses: list[float],
    result: dict,
) -> dict:
    """The record stored beside a trained model (model.json): what it was trained on, how, how long, its losses
    per epoch, and what the backend reports (``result``: its model_key, and the backend's own names)."""
    return {
        "version": version,
        "partition": partition,
        "cutoff": manifest["cutoff"],
        "hyperparameters": hp,
        "seed": seed,
        "training_data_fingerprint": manifest["fingerprint"],
        "seconds": round(seconds, 1),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "epoch_losses": losses,
        **result,
    }


def model_metadata(info: dict, artifact_uri: str) -> dict[str, object]:
    """What the model's materialization shows: its version, training time, epochs and losses, hyperparameters,
    training data, artifact and the backend's own names."""
    losses = info.get("epoch_losses", [])
    return {
        "model_version": info["version"],
        "training_seconds": info["seconds"],
        "epochs_run": len(losses),
        "final_loss": round(losses[-1], 4) if losses else None,
        "best_loss": round(min(losses), 4) if losses else None,
        "hyperparameters": info["hyperparameters"],
        "training_data_fingerprint": info["training_data_fingerprint"],
        "artifact": artifact_uri,
        **{k: str(info[k]) for k in BACKEND_METADATA if k in info},
    }
