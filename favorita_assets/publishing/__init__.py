"""Publishing: forecasts, the Kaggle submission and the plots, per monthly cut-off."""

from dagster import Definitions

from favorita_assets.publishing.assets import forecast_plots, forecasts, kaggle_submission

defs = Definitions(assets=[forecasts, kaggle_submission, forecast_plots])
