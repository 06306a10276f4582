"""DeepAR trained locally with GluonTS (torch, CPU), driven by SageMaker DeepAR's hyperparameter names.

The trainer reads the very JSON Lines records written for SageMaker (see deepar_format.py), so the format is exercised
on every local run. Hyperparameters map onto GluonTS as follows:

| SageMaker | GluonTS DeepAREstimator |
|---|---|
| prediction_length, context_length | same names |
| epochs | trainer max_epochs (one epoch: see below) |
| num_cells, num_layers | hidden_size, num_layers |
| likelihood | distr_output: negative-binomial, student-T, gaussian |
| mini_batch_size, learning_rate, dropout_rate | batch_size, lr, dropout_rate |
| embedding_dimension | embedding_dimension, one per categorical feature |
| early_stopping_patience | a Lightning EarlyStopping on the training loss; the best epoch's weights are kept |

One epoch is one pass over the series: ceil(n_series / mini_batch_size) batches, and at least GluonTS's default of 50,
so that a few dozen series still get enough gradient steps.

SageMaker evaluates the negative-binomial likelihood on real-valued targets too (sales by weight are fractional);
torch's distribution validation would refuse them, so validation is switched off while training and predicting.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import tarfile
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from favorita_assets.core.cores import available_cores
from favorita_assets.core.deepar_format import POINT_QUANTILES, has_features, point_forecast, target_array

LIKELIHOODS = ("negative-binomial", "student-T", "gaussian")
MIN_BATCHES_PER_EPOCH = 50


class UnsupportedHyperparameter(ValueError):
    """A SageMaker DeepAR setting the local backend does not implement."""


def _distribution(likelihood: str):
    from gluonts.torch.distributions import NegativeBinomialOutput, NormalOutput, StudentTOutput

    options = {"negative-binomial": NegativeBinomialOutput, "student-T": StudentTOutput, "gaussian": NormalOutput}
    if likelihood not in options:
        raise UnsupportedHyperparameter(
            f"likelihood={likelihood!r} is not available in the local backend; use one of {', '.join(LIKELIHOODS)}"
        )
    return options[likelihood]()


@contextmanager
def _no_distribution_validation():
    """Switch torch's distribution validation off (see module docstring), and hush a deprecation warning that
    GluonTS 0.17's own indexing raises under torch 2.13. torch's threads are sized to the cores this process may
    use (``core.cores``), not the host's count, which under a container's CPU quota makes them spin."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(available_cores())
    before = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using a non-tuple sequence for multidimensional indexing")
            # Lightning's notes on GluonTS's own set-up: no validation set is passed on purpose (early stopping
            # watches the training loss), and its tree-spec deprecation is internal to Lightning.
            warnings.filterwarnings("ignore", message=".*validation_step.* but have no .val_dataloader.")
            warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).* is deprecated")
            yield
    finally:
        torch.distributions.Distribution.set_default_validate_args(before)
        torch.set_num_threads(threads)


def _dataset(records: Iterable[dict], cut: int = 0):
    """GluonTS ListDataset from DeepAR records; ``cut`` drops that many days from the end of every target.

    Each record becomes float32 arrays (what GluonTS trains on) as it arrives, so a generator over a JSON Lines
    file is never held as Python lists all at once."""
    from gluonts.dataset.common import ListDataset

    entries = []
    for record in records:
        target = target_array(record, np.float32)
        if cut:
            target = target[:-cut]
        entry = {"start": record["start"][:10], "target": target, "feat_static_cat": record.get("cat", [])}
        if has_features(record):
            entry["feat_dynamic_real"] = np.asarray(record["dynamic_feat"], dtype=np.float32)
        entries.append(entry)
    return ListDataset(entries, freq="D")


# The lags DeepAR feeds the network, in days: the last week, the same weekday one to four weeks back, and the same
# weekday a year back. GluonTS's daily default reaches back three years (1,093 days), so every training window needs
# that much history (padded for younger series) and costs about three times as much. Chosen for time: the two sets'
# accuracy was not compared on the real sales with everything else equal.
LAGS = [1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 15, 20, 21, 22, 27, 28, 29, 363, 364, 365]
# The smallest scale DeepAR divides a series by, in its own units. GluonTS scales each window by the mean of its
# context; on a sparse series that mean is tiny (a sale of 1 in 28 days: 0.036) or zero (scale 1e-10), so one sampled
# unit enters the network as 28 or 10^10 and the sample paths explode (WAPE of 10^7 on the real sales). A floor of one
# unit keeps a few sales a few units.
MINIMUM_SCALE = 1.0


def _module_class():
    from gluonts.core.component import validated
    from gluonts.torch.model.deepar.lightning_module import DeepARLightningModule
    from gluonts.torch.scaler import MeanScaler

    class FlooredDeepARModule(DeepARLightningModule):
        @validated()
        def __init__(
            self,
            model_kwargs: dict,
            lr: float = 1e-3,
            weight_decay: float = 1e-8,
            patience: int = 10,
            minimum_scale: float = MINIMUM_SCALE,
        ) -> None:
            super().__init__(model_kwargs=model_kwargs, lr=lr, weight_decay=weight_decay, patience=patience)
            if model_kwargs.get("scaling", True):
                self.model.scaler = MeanScaler(
                    dim=-1, keepdim=True, default_scale=model_kwargs.get("default_scale"), minimum_scale=minimum_scale
                )

    FlooredDeepARModule.__module__ = __name__
    FlooredDeepARModule.__qualname__ = "FlooredDeepARModule"
    return FlooredDeepARModule


def _floored_module():
    """The module class, made on first use (GluonTS imports torch, which a run without DeepAR need not load)."""
    if "FlooredDeepARModule" not in globals():
        globals()["FlooredDeepARModule"] = _module_class()
    return globals()["FlooredDeepARModule"]


def __getattr__(name: str):  # how a saved predictor finds the class by name when it is loaded
    if name == "FlooredDeepARModule":
        return _floored_module()
    raise AttributeError(name)


def _seed(seed: int) -> None:
    import lightning

    lightning.seed_everything(seed, workers=True, verbose=False)


def train(
    records: Iterable[dict],
    hyperparameters: Mapping[str, Any],
    cardinality: list[int],
    seed: int = 0,
    on_epoch: Callable[[int, int, float], None] | None = None,
):
    """Train DeepAR on the train channel's records (a list, or a generator such as ``read_json_lines``); returns a
    GluonTS PyTorchPredictor.

    ``on_epoch(epoch, epochs, loss)`` is called after every epoch (progress and loss for the logs).
    """
    import lightning
    from gluonts.torch.model.deepar import DeepAREstimator

    hp = dict(hyperparameters)
    dataset = _dataset(records)
    if not dataset:
        raise ValueError("the train channel has no series")
    n_dynamic = len(dataset[0].get("feat_dynamic_real", []))
    epochs = int(hp["epochs"])
    batch_size = int(hp["mini_batch_size"])

    class EpochReporter(lightning.Callback):
        def on_train_epoch_end(self, trainer, module):
            loss = trainer.callback_metrics.get("train_loss")
            if on_epoch is not None and loss is not None:
                on_epoch(trainer.current_epoch + 1, epochs, float(loss))

    checkpoints = tempfile.mkdtemp(prefix="favorita_deepar_")  # Lightning keeps the best epoch here while training
    callbacks: list = [EpochReporter()]
    patience = hp.get("early_stopping_patience")
    if patience:
        callbacks.append(lightning.pytorch.callbacks.EarlyStopping(monitor="train_loss", patience=int(patience)))
    module_class = _floored_module()

    class Estimator(DeepAREstimator):
        def create_lightning_module(self):
            base = super().create_lightning_module()
            return module_class(**base.__init_args__, minimum_scale=MINIMUM_SCALE)

    estimator = Estimator(
        freq="D",
        prediction_length=int(hp["prediction_length"]),
        context_length=int(hp["context_length"]),
        num_layers=int(hp["num_layers"]),
        hidden_size=int(hp["num_cells"]),
        lr=float(hp["learning_rate"]),
        dropout_rate=float(hp["dropout_rate"]),
        num_feat_dynamic_real=n_dynamic,
        num_feat_static_cat=len(cardinality),
        cardinality=list(cardinality),
        embedding_dimension=[int(hp["embedding_dimension"])] * len(cardinality),
        distr_output=_distribution(str(hp["likelihood"])),
        batch_size=batch_size,
        num_batches_per_epoch=max(MIN_BATCHES_PER_EPOCH, math.ceil(len(dataset) / batch_size)),
        lags_seq=LAGS,
        default_scale=MINIMUM_SCALE,
        nonnegative_pred_samples=True,
        num_parallel_samples=int(hp.get("num_eval_samples", 100)),
        trainer_kwargs={
            "max_epochs": epochs,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": False,
            "callbacks": callbacks,
            "deterministic": True,
            "default_root_dir": checkpoints,
        },
    )
    _seed(seed)
    quiet = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    try:
        with _no_distribution_validation():
            return estimator.train(dataset, cache_data=True)
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
        shutil.rmtree(checkpoints, ignore_errors=True)


PREDICT_CHUNK_BATCHES = 64  # predictor batches per chunk of records turned into arrays at once (None: all at once)


def predict(
    predictor,
    records: list[dict],
    quantiles: tuple[float, ...],
    cut: int = 0,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
    chunk_batches: int | None = PREDICT_CHUNK_BATCHES,
) -> list[dict[str | float, np.ndarray]]:
    """Forecast the ``prediction_length`` days after each record's target (after dropping ``cut`` days from it).

    Each record's dynamic features must run ``prediction_length`` days past the (cut) target. Returns, per record,
    ``{"mean": array, q: array, ...}``, clipped at 0 (sales cannot be negative). ``on_progress(done, total)`` is
    called about twenty times along the way, and at the end.
    """
    _seed(seed)
    out = []
    total = len(records)
    every = max(1, total // 20)
    # In chunks of whole predictor batches: only one chunk is ever float32 arrays, and the batches, so the random
    # draws, are the ones a single call would make (tests hold the chunked forecasts to the one-call forecasts).
    step = max(1, int(getattr(predictor, "batch_size", 32))) * (chunk_batches or max(1, total))
    with _no_distribution_validation():
        for begin in range(0, total, step):
            for forecast in predictor.predict(_dataset(records[begin : begin + step], cut=cut)):
                levels = {q: np.clip(forecast.quantile(q), 0, None) for q in sorted({*quantiles, *POINT_QUANTILES})}
                row: dict[str | float, np.ndarray] = {
                    "mean": point_forecast(levels),
                    **{q: levels[q] for q in quantiles},
                }
                out.append(row)
                if on_progress is not None and (len(out) % every == 0 or len(out) == total):
                    on_progress(len(out), total)
    return out


def to_bytes(predictor) -> bytes:
    """The predictor as a model.tar.gz (what SageMaker calls the model artifact)."""
    with tempfile.TemporaryDirectory() as folder:
        predictor.serialize(Path(folder))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in sorted(Path(folder).iterdir()):
                tar.add(path, arcname=path.name)
        return buffer.getvalue()


def from_bytes(data: bytes):
    """Load a predictor saved by :func:`to_bytes`."""
    from gluonts.torch.model.predictor import PyTorchPredictor

    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            _extract_plain_files(tar, folder)
        return PyTorchPredictor.deserialize(Path(folder))


def _extract_plain_files(tar: tarfile.TarFile, folder: str) -> None:
    """Extract only plain files and folders that stay inside ``folder``: tarfile's "data" filter where this Python
    has it (3.11.4 and later), the same rule by hand on earlier ones (Debian 12's 3.11.2)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(folder, filter="data")
        return
    root = Path(folder).resolve()
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()) or (target != root and root not in target.parents):
            raise ValueError(f"model archive member {member.name!r} is not a plain file inside the archive")
    tar.extractall(folder)  # noqa: S202 - every member checked above
