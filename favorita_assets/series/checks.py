"""Checks on ``cleaned_series``: unique keys, a complete contiguous grid, no NaN features, no negative sales."""

from dagster import AssetCheckExecutionContext, AssetCheckSpec, multi_asset_check

from favorita_assets.checks import rows_check
from favorita_assets.core import quality
from favorita_assets.resources.cleaned_series import read_cleaned_series
from favorita_assets.resources.storage import Storage

# name: (description, rule returning the offending rows, what those rows do). cleaned_series applies them to a new
# version before committing it; these checks show them on the committed one.
RULES = {
    "unique_keys": ("No (store_nbr, family, date) appears twice.", quality.duplicate_rows, "repeat a key"),
    "complete_grid": ("Every series reaches the last train date.", quality.short_series, "series end early"),
    "contiguous_dates": (
        "No series skips a day between its first and last date.",
        quality.gap_series,
        "series skip days",
    ),
    "no_nan_features": (
        "No missing value in sales or any feature column.",
        quality.nan_feature_rows,
        "empty feature values",
    ),
    "non_negative_sales": ("No negative sales.", quality.negative_sales_rows, "negative sales"),
}


def broken_rules(cleaned) -> dict[str, str]:
    """The rules ``cleaned`` breaks: {name: "N row(s): what they do"}."""
    found = {name: (len(rule(cleaned)), what) for name, (_, rule, what) in RULES.items()}
    return {name: f"{n:,} row(s): {what}" for name, (n, what) in found.items() if n}


@multi_asset_check(
    specs=[
        AssetCheckSpec(name, asset="cleaned_series", description=text, blocking=True)
        for name, (text, _, _) in RULES.items()
    ]
)
def cleaned_series_checks(context: AssetCheckExecutionContext, storage: Storage):
    cleaned = read_cleaned_series(storage)
    for name, (_, rule, what) in RULES.items():
        yield rows_check(name, "cleaned_series", rule(cleaned), what)
