"""Checks on ``cleaned_series``: unique keys, a complete contiguous grid, no NaN features, no negative sales."""


from dagster import AssetCheckExecutionContext, AssetCheckSpec, multi_asset_check

from favorita_assets.series.dataset import read_cleaned_series
from favorita_assets.checks import rows_check
from favorita_assets.core import quality
from favorita_assets.resources.storage import Storage

_SPECS = {
    "unique_keys": "No (store_nbr, family, date) appears twice.",
    "complete_grid": "Every series reaches the last train date.",
    "contiguous_dates": "No series skips a day between its first and last date.",
    "no_nan_features": "No missing value in sales or any feature column.",
    "non_negative_sales": "No negative sales.",
}


@multi_asset_check(
    specs=[AssetCheckSpec(name, asset="cleaned_series", description=text, blocking=True) for name, text in _SPECS.items()]
)
def cleaned_series_checks(context: AssetCheckExecutionContext, storage: Storage):
    cleaned = read_cleaned_series(storage)
    yield rows_check("unique_keys", "cleaned_series", quality.duplicate_rows(cleaned), "repeat a key")
    yield rows_check("complete_grid", "cleaned_series", quality.short_series(cleaned), "series end early")
    yield rows_check("contiguous_dates", "cleaned_series", quality.gap_series(cleaned), "series skip days")
    yield rows_check("no_nan_features", "cleaned_series", quality.nan_feature_rows(cleaned), "empty feature values")
    yield rows_check("non_negative_sales", "cleaned_series", quality.negative_sales_rows(cleaned), "negative sales")
