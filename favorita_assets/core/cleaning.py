"""Raw Kaggle frames -> ``cleaned_series``: one row per (store_nbr, family, date) on a complete daily grid.

The work is vectorised over all series at once (a dense series x day matrix, no per-series Python loop), and it is
correct for any subset of series: AWS Glue runs this same function per (store_nbr, family) group through Spark's
``applyInPandas``, passing the store closures it computed across families (see :func:`find_store_closures`).

Output columns, in order (see ``CLEANED_COLUMNS``):
- keys: date, store_nbr, family
- target: sales (0 on rows that were missing or days the store was closed), onpromotion
- flags: is_missing_row (no row in train.csv; filled with 0), store_closed (the store sold nothing in any family)
- features: dcoilwtico (forward- then back-filled onto every day), holiday_national / holiday_regional /
  holiday_local / is_holiday / is_event (see ``holidays.py``), day_of_week (0 = Monday), is_payday (the 15th and the
  last day of the month, when Ecuador's public sector is paid)
- store metadata: city, state, store_type, cluster

Each series starts on its first day with a sale (a store that opens partway through history, or a family that is
introduced later, starts there); a series that never sold starts at its first row. Every series ends on the last
train date, so short series are padded with zeros and flagged.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.holidays import holiday_calendar
from favorita_assets.core.schema import KAGGLE_FILES, ensure_valid

CLEANED_COLUMNS = [
    "date",
    "store_nbr",
    "family",
    "sales",
    "onpromotion",
    "is_missing_row",
    "store_closed",
    "dcoilwtico",
    "holiday_national",
    "holiday_regional",
    "holiday_local",
    "is_holiday",
    "is_event",
    "day_of_week",
    "is_payday",
    "city",
    "state",
    "store_type",
    "cluster",
]
FEATURE_COLUMNS = CLEANED_COLUMNS[3:]
DEFAULT_MAX_GAP_DAYS = 7


def _day_numbers(dates: pd.Series | np.ndarray, origin: np.datetime64) -> np.ndarray:
    return (np.asarray(dates, dtype="datetime64[D]") - origin).astype(np.int64)


def _dense_index(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique values, position of each value among them), like ``np.unique(return_inverse=True)`` but O(n)
    for the small non-negative integers that store numbers and series keys are."""
    if len(values) and values.min() >= 0 and values.max() < 10_000_000:
        seen = np.bincount(values) > 0
        return np.flatnonzero(seen), (np.cumsum(seen) - 1)[values]
    return np.unique(values, return_inverse=True)


def _sorted_family(values: pd.Series) -> pd.Categorical:
    """Family as a Categorical whose categories are sorted (so the output order does not depend on input order)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories
        if not cats.is_monotonic_increasing:
            return pd.Categorical(values.cat.set_categories(sorted(cats)))
        return pd.Categorical(values)
    return pd.Categorical(values.astype(str))


def _calendar_gap_error(days: np.ndarray, origin: np.datetime64, max_gap_days: int) -> FavoritaDataError | None:
    """The error for the longest run of days with no rows at all, if it is longer than ``max_gap_days``.

    Single missing days (25 December, when every store is closed) are normal and are filled with flagged zeros;
    a long hole usually means an export lost a chunk of data, and filling it with zeros would teach the model lies.
    """
    seen = np.flatnonzero(np.bincount(days) > 0)
    if len(seen) < 2:
        return None
    steps = np.diff(seen)
    worst = int(np.argmax(steps))
    if steps[worst] - 1 <= max_gap_days:
        return None
    first_missing = origin + np.timedelta64(int(seen[worst]) + 1, "D")
    last_missing = origin + np.timedelta64(int(seen[worst + 1]) - 1, "D")
    return FavoritaDataError(
        KAGGLE_FILES["train"].filename,
        f"no rows at all for {steps[worst] - 1} consecutive days ({first_missing} to {last_missing}); "
        f"gaps of up to {max_gap_days} days are filled with zeros, longer ones are refused",
        column="date",
        value=str(first_missing),
        fix="re-export train.csv with the missing dates, or cut the history to start after the gap",
    )


def calendar_gap_check(dates: pd.Series | np.ndarray, max_gap_days: int = DEFAULT_MAX_GAP_DAYS) -> None:
    """Raise FavoritaDataError if the dates that have rows leave a hole longer than ``max_gap_days`` (see
    :func:`clean_series`). Spark's driver calls this on the distinct dates before cleaning series by series, since
    one series alone cannot see a hole in the whole calendar."""
    values = np.asarray(pd.to_datetime(pd.Series(dates)).to_numpy(), dtype="datetime64[D]")
    if len(values) == 0:
        return
    origin = values.min()
    gap = _calendar_gap_error((values - origin).astype(np.int64), origin, max_gap_days)
    if gap is not None:
        raise gap


def _closed_matrix(store_idx: np.ndarray, day: np.ndarray, sales: np.ndarray, n_stores: int, n_days: int) -> np.ndarray:
    """closed[store, day]: the store sold nothing in any family that day, from its first sale on."""
    totals = np.bincount(store_idx * n_days + day, weights=sales, minlength=n_stores * n_days)
    sold = totals.reshape(n_stores, n_days) > 0
    opened = np.where(sold.any(axis=1), sold.argmax(axis=1), n_days)
    return ~sold & (np.arange(n_days)[None, :] >= opened[:, None])


def find_store_closures(sales: pd.DataFrame, last_date: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Days on which a store sold nothing in any family, or has no rows at all (e.g. 25 December).

    Only days from the store's first sale to ``last_date`` are listed. Returns columns ``store_nbr, date``.
    """
    last = np.datetime64(pd.Timestamp(last_date if last_date is not None else sales["date"].max()), "D")
    origin = np.datetime64(pd.Timestamp(sales["date"].min()), "D")
    day = _day_numbers(sales["date"], origin)
    n_days = int((last - origin) // np.timedelta64(1, "D")) + 1
    keep = day < n_days
    store_nbrs, store_idx = _dense_index(sales["store_nbr"].to_numpy()[keep])
    closed = _closed_matrix(store_idx, day[keep], sales["sales"].to_numpy()[keep], len(store_nbrs), n_days)
    s, d = np.nonzero(closed)
    return pd.DataFrame(
        {"store_nbr": store_nbrs[s], "date": (origin + d.astype("timedelta64[D]")).astype("datetime64[ns]")}
    )


def daily_oil(oil: pd.DataFrame, dates: pd.DatetimeIndex) -> np.ndarray:
    """The WTI price on each of ``dates``: forward-filled over weekends and gaps, back-filled before the first quote."""
    prices = oil.dropna(subset=["dcoilwtico"]).set_index("date")["dcoilwtico"].sort_index()
    if prices.empty:
        raise FavoritaDataError(
            KAGGLE_FILES["oil"].filename,
            "no oil price at all (every dcoilwtico is empty)",
            column="dcoilwtico",
            value="",
            fix="supply oil.csv with daily WTI prices, as Kaggle ships it",
        )
    union = prices.index.union(dates)
    return prices.reindex(union).ffill().bfill().reindex(dates).to_numpy(dtype=np.float64)


def clean_series(
    sales: pd.DataFrame,
    stores: pd.DataFrame,
    oil: pd.DataFrame,
    holidays: pd.DataFrame,
    last_date: str | pd.Timestamp | None = None,
    closures: pd.DataFrame | None = None,
    max_gap_days: int = DEFAULT_MAX_GAP_DAYS,
) -> pd.DataFrame:
    """Clean and reshape train rows into complete daily series with features (see the module docstring).

    ``last_date`` ends every series (default: the last date in ``sales``); rows after it are ignored, so a cut-off
    can be applied here. ``closures`` (store_nbr, date) marks closed store-days; by default they are computed from
    ``sales`` itself, which is right whenever ``sales`` holds all families of each store. Raises FavoritaDataError
    for duplicate keys, negative sales, unknown stores and long calendar gaps.
    """
    if sales.empty:
        raise FavoritaDataError(
            KAGGLE_FILES["train"].filename,
            "no sales rows to clean",
            fix="supply train.csv with at least one row per series",
        )
    last = pd.Timestamp(last_date if last_date is not None else sales["date"].max())
    origin = np.datetime64(pd.Timestamp(sales["date"].min()), "D")
    n_days = int((np.datetime64(last, "D") - origin) // np.timedelta64(1, "D")) + 1
    day = _day_numbers(sales["date"], origin)
    if day.max() >= n_days:  # rows after the cut-off are not part of this history
        sales = sales.loc[day < n_days]
        day = day[day < n_days]
    if closures is None:
        gap = _calendar_gap_error(day, origin, max_gap_days)
        if gap is not None:
            raise gap
    store_values = sales["store_nbr"].to_numpy()
    sales_values = sales["sales"].to_numpy(dtype=np.float64)
    store_nbrs, store_idx = _dense_index(store_values)
    if (sales_values < 0).any() or not np.isin(store_nbrs, stores["store_nbr"].to_numpy()).all():
        ensure_valid("train", sales, stores)  # the index is the file's row: the error names its line

    family = _sorted_family(sales["family"])
    n_families = len(family.categories)
    series_keys, series_idx = _dense_index(store_idx * n_families + family.codes)
    n_series = len(series_keys)

    # Dense (series x day) matrices; a cell seen twice is a duplicate key.
    cell = series_idx * n_days + day
    counts = np.bincount(cell, minlength=n_series * n_days)
    if counts.max() > 1:
        ensure_valid("train", sales)
    present = counts.astype(bool).reshape(n_series, n_days)
    sales_dense = np.zeros((n_series, n_days))
    sales_dense.flat[cell] = sales_values
    promo_dense = np.zeros((n_series, n_days), dtype=np.int64)
    promo_dense.flat[cell] = sales["onpromotion"].to_numpy()

    sold = sales_dense > 0
    start = np.where(sold.any(axis=1), sold.argmax(axis=1), present.argmax(axis=1))
    in_grid = np.arange(n_days)[None, :] >= start[:, None]
    lengths = n_days - start
    row_series = np.repeat(np.arange(n_series), lengths)
    row_day = np.nonzero(in_grid)[1]
    row_store_idx = (series_keys // n_families)[row_series]
    row_family = (series_keys % n_families)[row_series]

    # Store closures, looked up per (store, day).
    if closures is None:
        closed = _closed_matrix(store_idx, day, sales_values, len(store_nbrs), n_days)
    else:
        closed = np.zeros((len(store_nbrs), n_days), dtype=bool)
        c_store = np.searchsorted(store_nbrs, closures["store_nbr"].to_numpy())
        c_day = _day_numbers(closures["date"], origin)
        ok = (c_store < len(store_nbrs)) & (c_day >= 0) & (c_day < n_days)
        ok[ok] &= store_nbrs[c_store[ok]] == closures["store_nbr"].to_numpy()[ok]
        closed[c_store[ok], c_day[ok]] = True
    row_closed = closed[row_store_idx, row_day]

    dates = pd.date_range(pd.Timestamp(origin), last.normalize(), freq="D")
    store_meta = stores.set_index("store_nbr").loc[store_nbrs]
    calendar = holiday_calendar(holidays, store_meta.reset_index(), dates)
    cal_store = calendar.store_position(store_nbrs)[row_store_idx]
    flag = {name: values[cal_store, row_day] for name, values in calendar.flags.items()}
    oil_by_day = daily_oil(oil, dates)
    row_dates = dates.values[row_day]

    def store_category(column: str) -> pd.Categorical:
        codes, uniques = pd.factorize(store_meta[column], sort=True)
        return pd.Categorical.from_codes(codes[row_store_idx], categories=uniques)

    sales_rows = sales_dense[in_grid]
    sales_rows[row_closed] = 0.0
    out = pd.DataFrame(
        {
            "date": row_dates,
            "store_nbr": store_nbrs[row_store_idx].astype(np.int64),
            "family": pd.Categorical.from_codes(row_family, categories=family.categories),
            "sales": sales_rows,
            "onpromotion": promo_dense[in_grid],
            "is_missing_row": ~present[in_grid],
            "store_closed": row_closed,
            "dcoilwtico": oil_by_day[row_day],
            "holiday_national": flag["holiday_national"],
            "holiday_regional": flag["holiday_regional"],
            "holiday_local": flag["holiday_local"],
            "is_holiday": flag["holiday_national"] | flag["holiday_regional"] | flag["holiday_local"],
            "is_event": flag["is_event"],
            "day_of_week": dates.dayofweek.to_numpy()[row_day].astype(np.int8),
            "is_payday": ((dates.day == 15) | dates.is_month_end)[row_day],
            "city": store_category("city"),
            "state": store_category("state"),
            "store_type": store_category("type"),
            "cluster": store_meta["cluster"].to_numpy()[row_store_idx].astype(np.int64),
        },
        copy=False,
    )
    return out


CLEANING_INPUTS = ("train", "stores", "oil", "holidays_events")


def clean_tables(frames: dict[str, pd.DataFrame], last_date: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Validate the four input tables against each other and clean them (the entry point every runner calls)."""
    for table in CLEANING_INPUTS:
        if table not in frames:
            raise KeyError(f"clean_tables needs the {table} table")
    ensure_valid("stores", frames["stores"])
    ensure_valid("oil", frames["oil"])
    ensure_valid("holidays_events", frames["holidays_events"])
    return clean_series(frames["train"], frames["stores"], frames["oil"], frames["holidays_events"], last_date)


CATEGORICAL_COLUMNS = ("family", "city", "state", "store_type")
SALES_TOLERANCE = 1e-9


def normalize_cleaned(frame: pd.DataFrame) -> pd.DataFrame:
    """A cleaned table (or some of its columns) read back from parts written elsewhere (Spark writes strings, dates
    and parts in any order) in the exact form :func:`clean_series` returns: sorted categoricals, datetime64 dates,
    rows by store, family, date."""
    out = frame[[c for c in CLEANED_COLUMNS if c in frame.columns]].copy()
    if "date" in out:
        out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    for column in CATEGORICAL_COLUMNS:
        if column in out:
            values = out[column].astype(str)
            out[column] = pd.Categorical(values, categories=sorted(values.unique()))
    for column in ("store_nbr", "onpromotion", "cluster"):
        if column in out:
            out[column] = out[column].astype(np.int64)
    if "day_of_week" in out:
        out["day_of_week"] = out["day_of_week"].astype(np.int8)
    order = [c for c in ("store_nbr", "family", "date") if c in out]
    return out.sort_values(order, kind="stable").reset_index(drop=True) if order else out


def sales_reconciliation(input_total: float, output_total: float) -> dict[str, object]:
    """Every unit sold in train.csv is in the cleaned series exactly once: filled rows add zeros, closed days and
    days before a series' first sale hold no sales, so the totals must agree (to floating-point rounding)."""
    difference = float(output_total) - float(input_total)
    passed = abs(difference) <= SALES_TOLERANCE * max(1.0, abs(float(input_total)))
    return {
        "passed": passed,
        "input_total_sales": float(input_total),
        "output_total_sales": float(output_total),
        "difference": difference,
    }


def clean_and_reconcile(frames: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, object], dict[str, object]]:
    """:func:`clean_tables`, with the output's :func:`cleaning_stats` and its :func:`sales_reconciliation` against
    the input: what every whole-table runner (in-process, Glue's pandas engine) reports."""
    cleaned = clean_tables(frames)
    stats = cleaning_stats(cleaned)
    total = cast(float, stats["total_sales"])
    return cleaned, stats, sales_reconciliation(frames["train"]["sales"].sum(), total)


def cleaning_stats(cleaned: pd.DataFrame) -> dict[str, object]:
    """Row counts and spans of a cleaned table, for logs and asset metadata."""
    series = cleaned.groupby(["store_nbr", "family"], observed=True).ngroups
    return {
        "rows": int(len(cleaned)),
        "series": int(series),
        "stores": int(cleaned["store_nbr"].nunique()),
        "families": int(cleaned["family"].nunique()),
        "first_date": cleaned["date"].min().strftime("%Y-%m-%d"),
        "last_date": cleaned["date"].max().strftime("%Y-%m-%d"),
        "missing_rows_filled": int(cleaned["is_missing_row"].sum()),
        "store_closed_rows": int(cleaned["store_closed"].sum()),
        "total_sales": float(cleaned["sales"].sum()),
    }
