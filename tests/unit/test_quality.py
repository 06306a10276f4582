"""The cleaned_series rules find the rows that break them."""

import numpy as np
import pandas as pd

from favorita_assets.core import quality
from favorita_assets.core.cleaning import clean_tables
from favorita_assets.core.schema import read_kaggle_csv


def cleaned(small_data_dir):
    frames = {t: read_kaggle_csv(small_data_dir / f"{t}.csv", t) for t in ("train", "stores", "oil", "holidays_events")}
    return clean_tables(frames)


def test_rules_hold_on_clean_output(small_data_dir):
    out = cleaned(small_data_dir)
    for rule in (
        quality.duplicate_rows,
        quality.gap_series,
        quality.short_series,
        quality.nan_feature_rows,
        quality.negative_sales_rows,
    ):
        assert rule(out).empty, rule.__name__


def test_rules_name_the_offending_rows(small_data_dir):
    out = cleaned(small_data_dir)
    broken = pd.concat([out, out.iloc[[5]]])
    assert len(quality.duplicate_rows(broken)) == 2
    dropped = out.drop(index=out.index[10])
    gaps = quality.gap_series(dropped)
    assert len(gaps) == 1 and gaps.iloc[0]["store_nbr"] == out.iloc[10]["store_nbr"]
    last = out.date.max()
    short = out[~((out.store_nbr == out.store_nbr.iloc[0]) & (out.date == last))]
    assert len(quality.short_series(short, last)) == out[out.store_nbr == out.store_nbr.iloc[0]].family.nunique()
    nan = out.copy()
    nan.loc[nan.index[3], "dcoilwtico"] = np.nan
    flagged = quality.nan_feature_rows(nan)
    assert len(flagged) == 1 and flagged.iloc[0]["empty_columns"] == "dcoilwtico"
    neg = out.copy()
    neg.loc[neg.index[7], "sales"] = -1
    assert len(quality.negative_sales_rows(neg)) == 1
