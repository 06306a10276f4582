"""The trained model's plain parts (favorita_assets/modeling/models.py): hyperparameters, version, record, metadata."""

import pandas as pd
import pytest

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.modeling import models
from favorita_assets.modeling.config import DeepARConfig

MANIFEST = {
    "prediction_length": 16,
    "likelihood_auto": "negative-binomial",
    "fingerprint": "f" * 64,
    "cutoff": "2017-07-31",
    "cardinality": [3, 4, 2, 2],
    "data_dates": ["2016-06-01", "2017-07-31"],
    "backtest_windows": 3,
}


def test_hyperparameters_take_the_horizon_and_likelihood_of_the_data_and_refuse_another_horizon():
    hp = models.hyperparameters(DeepARConfig(epochs=2), MANIFEST)
    assert hp["prediction_length"] == 16 and hp["likelihood"] == "negative-binomial" and hp["epochs"] == 2
    with pytest.raises(ValueError, match="prediction_length=7 differs from the training data's 16"):
        models.hyperparameters(DeepARConfig(prediction_length=7), MANIFEST)


def test_the_version_names_the_data_the_settings_the_seed_and_the_backend():
    hp = models.hyperparameters(DeepARConfig(), MANIFEST)
    version = models.model_version("deepar", "2017-07-01", MANIFEST, hp, 0, None)
    assert version.startswith("deepar-2017-07-") and len(version) == len("deepar-2017-07-") + 10
    assert models.model_version("deepar", "2017-07-01", MANIFEST, hp, 0, None) == version
    others = {
        models.model_version("deepar", "2017-07-01", MANIFEST, hp, 1, None),
        models.model_version("deepar", "2017-07-01", {**MANIFEST, "fingerprint": "e" * 64}, hp, 0, None),
        models.model_version("deepar", "2017-07-01", MANIFEST, {**hp, "epochs": 3}, 0, None),
        models.model_version("deepar", "2017-07-01", MANIFEST, hp, 0, {"algorithm": "CNN-QR"}),
    }
    assert version not in others and len(others) == 4


def test_the_history_check_refuses_a_context_longer_than_the_month_has():
    hp = models.hyperparameters(DeepARConfig(), MANIFEST)
    models.check_history("2017-07", MANIFEST, hp)
    with pytest.raises(FavoritaDataError):
        models.check_history("2017-07", MANIFEST, {**hp, "context_length": 2000})
    models.check_history(
        "2017-07", {k: v for k, v in MANIFEST.items() if k != "data_dates"}, {**hp, "context_length": 2000}
    )


def test_the_record_the_request_and_the_metadata():
    hp = models.hyperparameters(DeepARConfig(), MANIFEST)
    result = {"model_key": "models/v/model.tar.gz", "backend": "local", "billable_seconds": 12}
    info = models.model_info("v", "2017-07", MANIFEST, hp, 0, 12.345, [2.0, 1.5, 1.7], result)
    assert (
        info["seconds"] == 12.3 and info["epoch_losses"] == [2.0, 1.5, 1.7] and info["model_key"] == result["model_key"]
    )
    assert info["training_data_fingerprint"] == MANIFEST["fingerprint"] and info["trained_at"].endswith("+00:00")
    meta = models.model_metadata(info, "file:///models/v/model.tar.gz")
    assert (meta["epochs_run"], meta["final_loss"], meta["best_loss"]) == (3, 1.7, 1.5)
    assert meta["backend"] == "local" and meta["billable_seconds"] == "12" and "model_name" not in meta
    assert meta["artifact"] == "file:///models/v/model.tar.gz"
    reused = models.model_metadata({**info, "epoch_losses": []}, "x")
    assert reused["final_loss"] is None and reused["epochs_run"] == 0
    request = models.training_request("v", "training/cutoff_month=2017-07", hp, MANIFEST, 5)
    assert request.model_prefix.endswith("v") and request.cardinality == [3, 4, 2, 2] and request.seed == 5


def test_what_the_channels_materialization_shows():
    summary = {
        "counts": {"train": 12, "test": 12, "inference": 12},
        "sizes": {"train": 34_567},
        "fingerprint": "abc",
        "promotions_source": "test.csv",
        "small_count_share": 0.123456,
        "likelihood": "negative-binomial",
        "metadata": {"glue_job_run": "jr_1"},
    }
    cutoff = pd.Timestamp("2017-07-31")
    horizon = pd.date_range("2017-08-01", periods=16)
    meta = models.channels_metadata(summary, MANIFEST, cutoff, horizon, "file:///training")
    assert meta["horizon"] == "2017-08-01 .. 2017-08-16" and meta["small_count_share"] == 0.1235
    assert meta["cardinality"] == {"store": 3, "family": 4, "store_type": 2, "cluster": 2}
    assert list(meta)[-2:] == ["path", "glue_job_run"] and meta["train_bytes"] == 34_567
    with pytest.raises(ValueError):  # a cardinality of another length is a bug upstream, not a shorter table
        models.channels_metadata(summary, {**MANIFEST, "cardinality": [3, 4]}, cutoff, horizon, "x")
    assert models.channels_line(summary, cutoff, horizon) == (
        "cut-off 2017-07-31: 12 train / 12 test / 12 inference records; horizon 2017-08-01..2017-08-16"
    )
