"""Modeling, per monthly cut-off: DeepAR channels, the trained model, and the backtest with the champion rule."""

from dagster import Definitions

from favorita_assets.modeling.assets import deepar_model, deepar_training_data, forecast_evaluation
from favorita_assets.modeling.checks import sagemaker_format

defs = Definitions(assets=[deepar_training_data, deepar_model, forecast_evaluation], asset_checks=[sagemaker_format])
