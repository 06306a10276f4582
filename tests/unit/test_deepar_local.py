"""The local GluonTS DeepAR trainer: trains on a few series in seconds, forecasts, saves and loads."""

import os

import numpy as np
import pytest

from favorita_assets.core import deepar_gluonts
from favorita_assets.modeling.config import DeepARConfig


def records(n=4, days=120, h=7, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in range(n):
        level = 20 * (s + 1)
        weekly = np.tile([1.0, 0.9, 0.9, 1.0, 1.1, 1.5, 1.6], days // 7 + 2)
        target = rng.poisson(level * weekly[:days]).astype(float)
        promo = (rng.random(days + h) < 0.2).astype(float)
        out.append(
            {
                "start": "2017-01-01 00:00:00",
                "target": target.tolist(),
                "cat": [s, s % 2],
                "dynamic_feat": [promo.tolist()],
            }
        )
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    h = 7
    cwd = tmp_path_factory.mktemp("cwd")  # training must leave nothing (checkpoints, logs) where it was started
    before = os.getcwd()
    os.chdir(cwd)
    recs = records(h=h)
    train = [{**r, "dynamic_feat": [r["dynamic_feat"][0][:120]]} for r in recs]
    hp = DeepARConfig(epochs=2, num_cells=8, mini_batch_size=8).hyperparameters(h, auto_likelihood="negative-binomial")
    losses = []
    try:
        predictor = deepar_gluonts.train(
            train, hp, [4, 2], seed=3, on_epoch=lambda e, n, loss: losses.append((e, n, loss))
        )
    finally:
        os.chdir(before)
    assert list(cwd.iterdir()) == [], "training wrote into the working directory"
    return predictor, recs, losses


def test_trains_in_seconds_and_reports_each_epoch(trained):
    _, _, losses = trained
    assert [(e, n) for e, n, _ in losses] == [(1, 2), (2, 2)]
    assert all(np.isfinite(loss) for _, _, loss in losses)


def test_forecasts_are_non_negative_with_ordered_quantiles(trained):
    predictor, recs, _ = trained
    out = deepar_gluonts.predict(predictor, recs, (0.1, 0.5, 0.9))
    assert len(out) == 4 and out[0]["mean"].shape == (7,)
    for f in out:
        assert (f["mean"] >= 0).all() and (f[0.1] <= f[0.5]).all() and (f[0.5] <= f[0.9]).all()


def test_saved_model_predicts_the_same(trained):
    predictor, recs, _ = trained
    again = deepar_gluonts.from_bytes(deepar_gluonts.to_bytes(predictor))
    a = deepar_gluonts.predict(predictor, recs, (0.5,), seed=1)
    b = deepar_gluonts.predict(again, recs, (0.5,), seed=1)
    assert np.allclose(a[0]["mean"], b[0]["mean"])


def test_a_generator_of_records_trains_the_same_model(trained):
    """LocalDeepAR streams records from the JSON Lines file; a generator must give the same weights as a list."""
    predictor, recs, _ = trained
    train = [{**r, "dynamic_feat": [r["dynamic_feat"][0][:120]]} for r in recs]
    hp = DeepARConfig(epochs=2, num_cells=8, mini_batch_size=8).hyperparameters(7, auto_likelihood="negative-binomial")
    again = deepar_gluonts.train((r for r in train), hp, [4, 2], seed=3)
    a = deepar_gluonts.predict(predictor, recs, (0.5,), seed=1)
    b = deepar_gluonts.predict(again, recs, (0.5,), seed=1)
    assert np.allclose(a[0]["mean"], b[0]["mean"])


def test_an_empty_train_channel_is_refused():
    hp = DeepARConfig(epochs=1).hyperparameters(7, auto_likelihood="negative-binomial")
    with pytest.raises(ValueError, match="train channel has no series"):
        deepar_gluonts.train(iter([]), hp, [1, 1])


def test_unsupported_likelihood_is_named():
    hp = {**DeepARConfig(epochs=1).hyperparameters(7, auto_likelihood="negative-binomial"), "likelihood": "beta"}
    with pytest.raises(deepar_gluonts.UnsupportedHyperparameter, match="likelihood='beta'"):
        deepar_gluonts.train(records(n=1), hp, [1, 1])


def test_config_uses_sagemaker_names_and_defaults():
    hp = DeepARConfig().hyperparameters(16, auto_likelihood="negative-binomial")
    assert {
        "context_length",
        "prediction_length",
        "epochs",
        "num_cells",
        "num_layers",
        "likelihood",
        "mini_batch_size",
        "learning_rate",
        "dropout_rate",
        "embedding_dimension",
        "early_stopping_patience",
    } <= set(hp)
    assert hp["prediction_length"] == 16 and hp["context_length"] == 56 and hp["time_freq"] == "D"
    assert DeepARConfig().hyperparameters(70, auto_likelihood="negative-binomial")["context_length"] == 70
    assert hp["epochs"] == 30 and hp["early_stopping_patience"] is None  # chosen on the real sales


def test_auto_likelihood_is_resolved_from_the_data():
    assert DeepARConfig().hyperparameters(16, auto_likelihood="student-T")["likelihood"] == "student-T"
    named = DeepARConfig(likelihood="gaussian").hyperparameters(16, auto_likelihood="student-T")
    assert named["likelihood"] == "gaussian"  # a named likelihood wins over the suggestion
    with pytest.raises(ValueError, match="materialize deepar_training_data again"):
        DeepARConfig().hyperparameters(16)


@pytest.mark.parametrize("has_data_filter", [True, False])
def test_a_model_archive_only_unpacks_plain_files_inside_its_folder(tmp_path, monkeypatch, has_data_filter):
    """On Pythons before 3.11.4 (Debian 12's 3.11.2) tarfile has no "data" filter: the same rule is applied by hand."""
    import io
    import tarfile

    from favorita_assets.core.deepar_gluonts import _extract_plain_files

    if not has_data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)

    def archive(name: str) -> tarfile.TarFile:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
        return tarfile.open(fileobj=io.BytesIO(buffer.getvalue()), mode="r:gz")

    _extract_plain_files(archive("model.json"), str(tmp_path / "ok"))
    assert (tmp_path / "ok" / "model.json").read_text() == "{}"
    with pytest.raises(Exception, match="outside|not a plain file|Refusing|is not"):
        _extract_plain_files(archive("../escape.json"), str(tmp_path / "bad"))
    assert not (tmp_path / "escape.json").exists()


def test_chunked_prediction_is_the_one_call_prediction_from_compact_records(trained):
    """Prediction in chunks of whole batches (what bounds memory) draws what one call draws; compact records (NumPy
    arrays, as the pipeline reads the channels) forecast what the JSON lists forecast."""
    from favorita_assets.core.deepar_format import compact_record

    predictor, recs, _ = trained
    many = [{**r, "cat": [i % 4, i % 2]} for i in range(40) for r in recs[:1]]  # 40 series: several batches
    before, predictor.batch_size = predictor.batch_size, 8
    try:
        whole = deepar_gluonts.predict(predictor, many, (0.1, 0.9), seed=5, chunk_batches=None)
        chunked = deepar_gluonts.predict(
            predictor, [compact_record(r) for r in many], (0.1, 0.9), seed=5, chunk_batches=2
        )
    finally:
        predictor.batch_size = before
    assert len(chunked) == len(whole) == 40
    for a, b in zip(whole, chunked, strict=True):
        for key in ("mean", 0.1, 0.9):
            np.testing.assert_array_equal(a[key], b[key])


def test_a_sparse_series_never_scales_a_unit_into_an_explosion(trained):
    """The root cause of DeepAR's exploding samples on real sales: a context of zeros (or one sale in 28 days) was
    scaled by its mean (1e-10, 0.036), so one sampled unit entered the network as 10^10 or 28. The scale is floored
    at one unit, in the trained model and in a saved one loaded again."""
    import torch

    predictor, recs, _ = trained
    for model in (predictor, deepar_gluonts.from_bytes(deepar_gluonts.to_bytes(predictor))):
        scaler = model.prediction_net.model.scaler
        assert scaler.minimum_scale == deepar_gluonts.MINIMUM_SCALE == 1.0
        data = torch.tensor([[0.0] * 27 + [1.0], [0.0] * 28])
        _, _, scale = scaler(data, torch.ones_like(data))
        assert scale.flatten().tolist() == [1.0, 1.0]
    sparse = [{**r, "target": [0.0] * 110 + [1.0] + [0.0] * 9} for r in recs]
    for f in deepar_gluonts.predict(predictor, sparse, (0.1, 0.5, 0.9)):
        assert f[0.9].max() < 20 and f["mean"].max() < 5  # a few units at most, not 10^7
