"""Publishing: forecasts, the Kaggle submission, the plots and the forecasts' drivers, per monthly cut-off."""

from dagster import Definitions

from favorita_assets.publishing.assets import forecast_drivers, forecast_plots, forecasts, kaggle_submission

defs = Definitions(assets=[forecasts, kaggle_submission, forecast_plots, forecast_drivers])
