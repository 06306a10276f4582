"""The numbers the code decides and the command's help states: defaults, limits, the history a forecast needs and
what sample-data writes. Plain Python, so `favorita --help` reads them without importing pandas or Dagster; the
modules that use them import them from here, so the help cannot drift from the code."""

KAGGLE_START = "2013-01-01"  # the first and last day of Kaggle's train.csv
KAGGLE_END = "2017-08-15"
KAGGLE_STORES = 54
KAGGLE_FAMILIES = 33
MAX_STORES = 1000  # 18.5 times Favorita's chain: 33,000 series, about 56 M train rows over Kaggle's dates

DEFAULT_PREDICTION_LENGTH = 16  # Kaggle's horizon
MAX_PREDICTION_LENGTH = 365
DEFAULT_BACKTEST_WINDOWS = 3
# DeepAR's default context, in days (longer when the horizon is): eight weeks. On the real sales, 56 days scored RMSLE
# 0.404 against 0.450 for 28 days, in about the training time of the longer epochs (benchmarks/real_sales_benchmark.py).
DEFAULT_CONTEXT_LENGTH = 56
# Passes over the training data, chosen on the real sales' backtest windows (benchmarks/real_sales_benchmark.py).
DEFAULT_EPOCHS = 30

# `favorita demo --small`: a store of each size class is not needed for a first look; 3 stores x 4 families over
# 14 months (enough history for the 2017-08 cut-off and a year's lags) and 3 epochs: about two minutes on 2 cores.
SMALL_DEMO = {"stores": 3, "families": 4, "start": "2016-06-01", "epochs": 3}

# What `favorita sample-data` writes: Kaggle's six files and an inventory snapshot.
SAMPLE_FILES = (
    "train.csv",
    "test.csv",
    "stores.csv",
    "oil.csv",
    "holidays_events.csv",
    "transactions.csv",
    "inventory.csv",
)


def default_context_length(prediction_length: int) -> int:
    return max(DEFAULT_CONTEXT_LENGTH, prediction_length)


def minimum_history_days(
    prediction_length: int, context_length: int | None = None, backtest_windows: int = DEFAULT_BACKTEST_WINDOWS
) -> int:
    """Days of history a cut-off needs: the train channel (everything before the ``backtest_windows`` windows of
    ``prediction_length`` days) must hold at least one whole training window, context_length + prediction_length
    days (context_length defaults to DeepAR's default_context_length)."""
    context = context_length or default_context_length(prediction_length)
    return context + (backtest_windows + 1) * prediction_length
