"""Who trains DeepAR and predicts with it: GluonTS in-process (local backend) or SageMaker (AWS backend, later).

Both read the same JSON Lines channels from storage and return forecasts in the same shape.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from dagster import ConfigurableResource

from favorita_assets.core import deepar_gluonts
from favorita_assets.core.deepar_format import read_json_lines
from favorita_assets.resources.storage import Storage


class DeepARTrainer(ConfigurableResource, ABC):
    @abstractmethod
    def train(
        self,
        storage: Storage,
        train_key: str,
        hyperparameters: Mapping[str, Any],
        cardinality: list[int],
        model_key: str,
        seed: int,
        on_epoch: Callable[[int, int, float], None],
    ) -> dict[str, Any]:
        """Train on the train channel at ``train_key`` and store the model artifact at ``model_key``."""

    @abstractmethod
    def predict(
        self, storage: Storage, model_key: str, records: list[dict], quantiles: tuple[float, ...], cut: int = 0
    ) -> list[dict]:
        """Forecasts (mean and quantiles per record) for the days after each record's target less ``cut`` days."""


class LocalDeepAR(DeepARTrainer):
    """GluonTS DeepAR on torch, CPU, in this process."""

    def train(self, storage, train_key, hyperparameters, cardinality, model_key, seed, on_epoch):
        records = list(read_json_lines(storage.read_bytes(train_key)))
        predictor = deepar_gluonts.train(records, hyperparameters, cardinality, seed=seed, on_epoch=on_epoch)
        storage.write_bytes(model_key, deepar_gluonts.to_bytes(predictor))
        return {"backend": "gluonts-local", "train_series": len(records)}

    def predict(self, storage, model_key, records, quantiles, cut=0):
        predictor = deepar_gluonts.from_bytes(storage.read_bytes(model_key))
        return deepar_gluonts.predict(predictor, records, quantiles, cut=cut)
