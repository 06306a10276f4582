"""Who trains DeepAR and predicts with it: GluonTS in-process (local backend) or SageMaker (AWS backend,
``aws/sagemaker.py``).

Both read the same JSON Lines channels from storage, take the same SageMaker-named hyperparameters, and return
forecasts in the same shape: per series ``{"mean": array, q: array, ...}``, non-negative.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from dagster import AssetExecutionContext, ConfigurableResource

from favorita_assets.core import deepar_gluonts
from favorita_assets.core.deepar_format import inference_instances, iter_json_lines_file
from favorita_assets.progress import report_predicted
from favorita_assets.resources.channels import channel_keys
from favorita_assets.resources.storage import Storage

EpochCallback = Callable[[int, int, float], None]


@dataclass(frozen=True)
class TrainingRequest:
    version: str  # the model version, e.g. deepar-2017-08-1a2b3c4d5e
    channels_prefix: str  # holds train/data.json and test/data.json
    hyperparameters: Mapping[str, Any]  # SageMaker DeepAR names
    cardinality: list[int]
    model_prefix: str  # where the model artifact goes
    seed: int = 0
    retrain: bool = False  # force_retrain: a backend does not reuse a finished training of this version


class DeepARTrainer(ConfigurableResource, ABC):
    """Trains the cut-off's model and forecasts with it (DeepAR locally and on SageMaker; Amazon Forecast's
    predictor in its place when that backend is chosen)."""

    supports_what_if: ClassVar[bool] = True  # forecasts again from changed promotions
    version_prefix: ClassVar[str] = "deepar"  # model versions are <prefix>-<YYYY-MM>-<digest>

    def identity(self) -> dict[str, Any]:
        """What, besides the data and hyperparameters, makes a different model (in the version's digest)."""
        return {}

    @abstractmethod
    def train(
        self, context: AssetExecutionContext, storage: Storage, request: TrainingRequest, on_epoch: EpochCallback
    ) -> dict[str, Any]:
        """Train on the request's train channel and store the model; returns at least ``model_key`` (where the
        model artifact is) and ``backend``, plus whatever identifies the model in the backend."""

    @abstractmethod
    def predict(
        self,
        context: AssetExecutionContext,
        storage: Storage,
        model: Mapping[str, Any],
        records: list[dict],
        quantiles: tuple[float, ...],
        cut: int = 0,
    ) -> list[dict]:
        """Forecasts for the days after each record's target less ``cut`` days. ``model`` is what ``train``
        returned, with ``version``."""

    def release(self, context: AssetExecutionContext, model: Mapping[str, Any]) -> None:
        """Stop what ``predict`` left running for ``model`` once a run's forecasts are done (an endpoint that bills
        by the hour). Nothing by default; ``predict`` starts it again when it is next needed."""

    def review(self, context: AssetExecutionContext, model: Mapping[str, Any], approved: bool, reason: str) -> None:
        """Record the backtest's verdict on ``model`` in the backend's model registry. The embedded default has no
        registry (the verdict is in evaluation/.../metrics.json); SageMaker sets the model package's approval."""


class LocalDeepAR(DeepARTrainer):
    """GluonTS DeepAR on torch, CPU, in this process."""

    def train(self, context, storage, request, on_epoch):
        count = [0]

        def records(path):  # the train channel line by line: GluonTS keeps float32 arrays, never the JSON lists
            for record in iter_json_lines_file(path):
                count[0] += 1
                yield record

        def all_parts():  # one data.json locally; Glue's ordered parts when the channels were built there
            for key in channel_keys(storage, request.channels_prefix, "train"):
                with storage.local_path(key) as path:
                    yield from records(path)

        predictor = deepar_gluonts.train(
            all_parts(), request.hyperparameters, request.cardinality, seed=request.seed, on_epoch=on_epoch
        )
        model_key = f"{request.model_prefix}/model.tar.gz"
        storage.write_bytes(model_key, deepar_gluonts.to_bytes(predictor))
        return {"backend": "gluonts-local", "model_key": model_key, "train_series": count[0]}

    def predict(self, context, storage, model, records, quantiles, cut=0):
        predictor = deepar_gluonts.from_bytes(storage.read_bytes(model["model_key"]))
        what = "backtest forecasts" if cut else "forecasts"
        return deepar_gluonts.predict(
            predictor,
            inference_instances(records, cut),
            quantiles,
            on_progress=lambda done, total: report_predicted(context.log, done, total, what),
        )
