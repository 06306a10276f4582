"""Rules ``cleaned_series`` must meet; each returns the offending rows (empty when the rule holds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from favorita_assets.core.cleaning import FEATURE_COLUMNS

KEY = ["store_nbr", "family", "date"]


def _series_spans(cleaned: pd.DataFrame) -> pd.DataFrame:
    spans = cleaned.groupby(["store_nbr", "family"], observed=True, sort=True)["date"].agg(["min", "max", "size"])
    spans.columns = ["first_date", "last_date", "rows"]
    spans["expected_rows"] = (spans["last_date"] - spans["first_date"]).dt.days + 1
    return spans.reset_index()


def duplicate_rows(cleaned: pd.DataFrame) -> pd.DataFrame:
    """Rows whose (store_nbr, family, date) appears more than once."""
    return cleaned.loc[cleaned.duplicated(KEY, keep=False), KEY]


def gap_series(cleaned: pd.DataFrame) -> pd.DataFrame:
    """Series with a missing day between their first and last date."""
    spans = _series_spans(cleaned)
    return spans.loc[spans["rows"] != spans["expected_rows"]]


def short_series(cleaned: pd.DataFrame, last_date: pd.Timestamp | None = None) -> pd.DataFrame:
    """Series that stop before the last date (every series must reach it, padded with zeros)."""
    spans = _series_spans(cleaned)
    last = cleaned["date"].max() if last_date is None else pd.Timestamp(last_date)
    return spans.loc[spans["last_date"] != last]


def nan_feature_rows(cleaned: pd.DataFrame) -> pd.DataFrame:
    """Rows with a missing value in the target or any feature column; the columns that are empty are listed."""
    empty = cleaned[FEATURE_COLUMNS].isna()
    mask = empty.any(axis=1).to_numpy()
    if not mask.any():
        return cleaned.iloc[0:0][KEY].assign(empty_columns=pd.Series(dtype=str))
    names = np.array(FEATURE_COLUMNS)
    empty_columns = [", ".join(names[row]) for row in empty.to_numpy()[mask]]
    return cleaned.loc[mask, KEY].assign(empty_columns=empty_columns)


def negative_sales_rows(cleaned: pd.DataFrame) -> pd.DataFrame:
    """Rows with sales below zero."""
    return cleaned.loc[cleaned["sales"] < 0, KEY + ["sales"]]


# Days with no row at all that Kaggle's files are known to have, and why; anything else is worth a warning.
_EXPECTED_MISSING = {
    "train": (
        "25 December: every store is closed, so Kaggle's files have no rows; the cleaning fills them as closed days"
    ),
    "transactions": "25 December and 1 January: stores closed, so Kaggle's file has no rows then",
    "oil": "weekends: the oil market does not trade; the cleaning carries the last quote forward",
}


def explain_missing_days(table: str, missing: list[pd.Timestamp]) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Split the days a raw table has no row for into the expected ones (25 December in train.csv, also 1 January
    in transactions.csv, weekends in oil.csv) and the rest. Returns (expected, unexpected, why the expected ones
    are expected); each frame has one ``missing_date`` column."""
    days = pd.DatetimeIndex(missing)
    christmas = (days.month == 12) & (days.day == 25)
    expected = {
        "train": christmas,
        "transactions": christmas | ((days.month == 1) & (days.day == 1)),
        "oil": days.dayofweek >= 5,
    }.get(table, np.zeros(len(days), dtype=bool))
    frame = pd.DataFrame({"missing_date": days})
    return frame[expected], frame[~expected], _EXPECTED_MISSING.get(table, "")


@dataclass
class CheckOutcome:
    """An asset check's result with no Dagster in it: the asset turns it into Dagster's (favorita_assets.checks).
    ``severity``: how a failed check shows, an error or a warning."""

    name: str
    passed: bool
    description: str | None = None
    metadata: dict[str, object] = field(default_factory=dict)
    severity: Literal["ERROR", "WARN"] = "WARN"
