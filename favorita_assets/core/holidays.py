"""Ecuador's holiday table (Kaggle's holidays_events.csv) resolved into per-store, per-day flags.

Rules, as the competition describes them:
- a row of type Holiday with ``transferred == True`` is *not* a day off: the day off is its row of type Transfer;
- Bridge (an extra day added to a holiday) and Additional (days around a holiday, e.g. Navidad-1) are days off;
- Work Day (a Saturday worked to pay back a Bridge) is not a holiday;
- Event (Mother's Day, football matches, the 2016 earthquake) is not a day off but moves demand: its own flag;
- National rows apply to every store, Regional rows to stores whose ``state`` is the locale_name,
  Local rows to stores whose ``city`` is the locale_name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY_OFF_TYPES = ("Holiday", "Transfer", "Bridge", "Additional")
FLAG_NAMES = ("holiday_national", "holiday_regional", "holiday_local", "is_event")


def days_off(holidays: pd.DataFrame) -> pd.DataFrame:
    """The rows that make a day a holiday, after applying transfers (see module docstring)."""
    is_day_off = holidays["type"].isin(DAY_OFF_TYPES) & ~holidays["transferred"].astype(bool)
    return holidays.loc[is_day_off]


@dataclass(frozen=True)
class HolidayCalendar:
    """Boolean flags per store and day: ``flags[name][store_position, day_position]``."""

    store_nbrs: np.ndarray
    dates: pd.DatetimeIndex
    flags: dict[str, np.ndarray]

    def store_position(self, store_nbr: np.ndarray) -> np.ndarray:
        """Positions in ``store_nbrs`` of each given store number (all must be present)."""
        return np.searchsorted(self.store_nbrs, store_nbr)


def holiday_calendar(holidays: pd.DataFrame, stores: pd.DataFrame, dates: pd.DatetimeIndex) -> HolidayCalendar:
    """Resolve the holiday table into national/regional/local/event flags for every store and every date."""
    stores = stores.sort_values("store_nbr")
    store_nbrs = stores["store_nbr"].to_numpy()
    n_stores, n_days = len(store_nbrs), len(dates)
    flags = {name: np.zeros((n_stores, n_days), dtype=bool) for name in FLAG_NAMES}
    if n_days == 0 or holidays.empty:
        return HolidayCalendar(store_nbrs, dates, flags)

    def day_positions(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        pos = dates.get_indexer(pd.DatetimeIndex(frame["date"]))
        inside = pos >= 0
        return pos[inside], inside

    off = days_off(holidays)
    national = off[off["locale"] == "National"]
    pos, _ = day_positions(national)
    flags["holiday_national"][:, pos] = True

    for locale, column, flag in (("Regional", "state", "holiday_regional"), ("Local", "city", "holiday_local")):
        rows = off[off["locale"] == locale]
        pos, inside = day_positions(rows)
        names = rows["locale_name"].to_numpy()[inside]
        place = stores[column].to_numpy()
        for name in np.unique(names):
            flags[flag][np.ix_(place == name, pos[names == name])] = True

    events = holidays[holidays["type"] == "Event"]
    event_places: tuple[tuple[str, str | None], ...] = (("National", None), ("Regional", "state"), ("Local", "city"))
    for locale, place_column in event_places:
        rows = events[events["locale"] == locale]
        pos, inside = day_positions(rows)
        if place_column is None:
            flags["is_event"][:, pos] = True
            continue
        names = rows["locale_name"].to_numpy()[inside]
        place = stores[place_column].to_numpy()
        for name in np.unique(names):
            flags["is_event"][np.ix_(place == name, pos[names == name])] = True
    return HolidayCalendar(store_nbrs, dates, flags)
