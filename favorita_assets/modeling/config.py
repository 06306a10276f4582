"""DeepAR hyperparameters with SageMaker DeepAR's names, so the AWS backend passes them through unchanged."""

from typing import Literal

from dagster import Config
from pydantic import Field

from favorita_assets.core.candidates import DEFAULT_CHALLENGERS
from favorita_assets.core.defaults import DEFAULT_EPOCHS
from favorita_assets.partitions import default_context_length


class TrainingDataConfig(Config):
    prediction_length: int = Field(
        default=16,
        ge=1,
        le=365,
        description="Days to forecast after the cut-off (SageMaker's prediction_length): 16 is Kaggle's horizon; "
        "1, 7 and 28 answer 'tomorrow', 'next week' and 'next month'.",
    )
    backtest_windows: int = Field(
        default=3,
        ge=2,
        le=12,
        description="Backtest windows of prediction_length days each, ending at the cut-off. Every candidate is "
        "scored on each; the bands are calibrated on the windows not being scored, so at least 2. The train channel "
        "holds all of them out.",
    )


class EvaluationConfig(Config):
    candidates: list[str] = Field(
        default=list(DEFAULT_CHALLENGERS),
        description="The challengers scored beside DeepAR (any of last_week, mean_last_4_weekdays, croston, ets, "
        "lightgbm, lightgbm_direct, mstl, mfles, autoets; the ensemble of DeepAR, the LightGBMs and ETS is added when "
        "two of them ran). ets (level and weekly season on log1p, about 40 s on 1,782 series and three windows) scores "
        "as well as autoets (its whole model search, about 11 minutes there) on the real sales, so autoets is left "
        "out by default; mstl and mfles did not beat the seasonal naive baselines on the real store transactions, "
        "and mstl costs about 0.3 s per series and window (worth it for a few hundred aggregate series, not for "
        "thousands). A challenger that fails is left out with its error in metrics.json.",
    )
    seed: int = Field(default=0, description="Random seed of the LightGBM model.")
    mean_correction: bool = Field(
        default=False,
        description="Scale each family's published mean by the factor that made it unbiased on the backtest "
        "windows (units sold over units forecast, clipped to 0.5-2). Off by default: on the real sales the "
        "published mix's mean is already within 2 % of what sold on each window, and the correction has not been "
        "measured there. The bands and P50 are not changed.",
    )
    global_models_by: Literal["chain", "family"] = Field(
        default="chain",
        description="How the global challengers (the two LightGBMs) split the series: chain trains one model on every "
        "series; family one model per product family, so on a distributed engine (the Glue job in AWS mode) no "
        "task holds more than one family's series. Both engines split the same way and give the same forecasts.",
    )


class DeepARConfig(Config):
    """SageMaker DeepAR hyperparameters (https://docs.aws.amazon.com/sagemaker/latest/dg/deepar_hyperparameters.html)."""

    prediction_length: int | None = Field(
        default=None, description="Must equal the training data's; left empty, it is taken from deepar_training_data."
    )
    context_length: int | None = Field(
        default=None,
        ge=1,
        description="Days the network sees before predicting; empty means max(56, prediction_length), chosen on "
        "the real sales (28 days scored RMSLE 0.450 there, 56 days 0.404).",
    )
    epochs: int = Field(
        default=DEFAULT_EPOCHS,
        ge=1,
        description="Passes over the training data (each of at least 50 batches). 30, chosen on the real sales' "
        "backtest windows (benchmarks/real_sales_benchmark.py): 2 to 3 minutes of training on 2 cores.",
    )
    num_cells: int = Field(default=40, ge=1, description="Cells in each hidden layer of the RNN.")
    num_layers: int = Field(default=2, ge=1, description="Hidden layers in the RNN.")
    likelihood: Literal["auto", "negative-binomial", "student-T", "gaussian"] = Field(
        default="auto",
        description="Noise model. auto picks from the train channel: negative-binomial when at least 5% of the "
        "observed days are small counts (under 10), as in store x family sales; student-T when the values sit far "
        "from zero, as in store transactions. SageMaker is sent the resolved name.",
    )
    mini_batch_size: int = Field(default=64, ge=1, description="Series windows per training batch.")
    learning_rate: float = Field(default=3e-3, gt=0, description="Adam learning rate.")
    dropout_rate: float = Field(default=0.1, ge=0, lt=1, description="Dropout rate during training.")
    embedding_dimension: int = Field(default=10, ge=1, description="Embedding size of each categorical feature.")
    early_stopping_patience: int | None = Field(
        default=None,
        ge=1,
        description="Stop when the training loss has not improved for this many epochs (the best epoch is kept); "
        "empty: every epoch runs (the epoch with the lowest loss is kept either way). Off by default: on the real "
        "sales one epoch's loss is noisy, and a patience of 8 stopped at epoch 13, keeping epoch 5's weights.",
    )
    num_eval_samples: int = Field(default=100, ge=1, description="Sample paths drawn to compute means and quantiles.")
    seed: int = Field(default=0, description="Random seed of the local trainer (SageMaker has no such setting).")
    force_retrain: bool = Field(
        default=False, description="Retrain even when a model for the same data and hyperparameters is stored."
    )

    def hyperparameters(self, prediction_length: int, auto_likelihood: str | None = None) -> dict[str, object]:
        """The SageMaker DeepAR hyperparameters, resolved: prediction_length from the training data, and
        ``likelihood="auto"`` to ``auto_likelihood`` (what ``deepar_format.suggest_likelihood`` says of the data)."""
        likelihood = self.likelihood
        if likelihood == "auto":
            if auto_likelihood is None:
                raise ValueError(
                    'likelihood="auto" is resolved from the training data, whose manifest does not say: materialize '
                    "deepar_training_data again, or name a likelihood"
                )
            likelihood = auto_likelihood
        return {
            "time_freq": "D",
            "prediction_length": prediction_length,
            "context_length": self.context_length or default_context_length(prediction_length),
            "epochs": self.epochs,
            "num_cells": self.num_cells,
            "num_layers": self.num_layers,
            "likelihood": likelihood,
            "mini_batch_size": self.mini_batch_size,
            "learning_rate": self.learning_rate,
            "dropout_rate": self.dropout_rate,
            "embedding_dimension": self.embedding_dimension,
            "early_stopping_patience": self.early_stopping_patience,
            "num_eval_samples": self.num_eval_samples,
        }
