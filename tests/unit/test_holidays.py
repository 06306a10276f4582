"""Holiday resolution: transfers, bridges, additional days, work days, events, and locale matching."""

import pandas as pd

from favorita_assets.core.holidays import days_off, holiday_calendar

STORES = pd.DataFrame(
    {
        "store_nbr": [1, 2, 3],
        "city": ["Quito", "Guayaquil", "Cuenca"],
        "state": ["Pichincha", "Guayas", "Azuay"],
        "type": ["D", "A", "B"],
        "cluster": [13, 5, 6],
    }
)
HOLIDAYS = pd.DataFrame(
    [
        ("2016-08-10", "Holiday", "National", "Ecuador", "Primer Grito de Independencia", True),
        ("2016-08-12", "Transfer", "National", "Ecuador", "Traslado Primer Grito de Independencia", False),
        ("2016-12-24", "Additional", "National", "Ecuador", "Navidad-1", False),
        ("2016-12-26", "Bridge", "National", "Ecuador", "Puente Navidad", False),
        ("2017-01-07", "Work Day", "National", "Ecuador", "Recupero puente Navidad", False),
        ("2016-12-06", "Holiday", "Local", "Quito", "Fundacion de Quito", False),
        ("2016-11-07", "Holiday", "Regional", "Guayas", "Provincializacion de Guayas", False),
        ("2016-05-08", "Event", "National", "Ecuador", "Dia de la Madre", False),
    ],
    columns=["date", "type", "locale", "locale_name", "description", "transferred"],
).assign(date=lambda f: pd.to_datetime(f["date"]))
DATES = pd.date_range("2016-05-01", "2017-01-31", freq="D")


def flag(calendar, name, store, day):
    return bool(calendar.flags[name][calendar.store_position([store])[0], DATES.get_loc(pd.Timestamp(day))])


def test_transferred_holiday_moves_to_its_transfer_day():
    cal = holiday_calendar(HOLIDAYS, STORES, DATES)
    assert not flag(cal, "holiday_national", 1, "2016-08-10")
    assert flag(cal, "holiday_national", 1, "2016-08-12")


def test_bridge_and_additional_count_work_day_does_not():
    cal = holiday_calendar(HOLIDAYS, STORES, DATES)
    assert flag(cal, "holiday_national", 2, "2016-12-24")
    assert flag(cal, "holiday_national", 2, "2016-12-26")
    assert not flag(cal, "holiday_national", 2, "2017-01-07")
    assert "Work Day" not in set(days_off(HOLIDAYS)["type"])


def test_local_by_city_regional_by_state():
    cal = holiday_calendar(HOLIDAYS, STORES, DATES)
    assert flag(cal, "holiday_local", 1, "2016-12-06") and not flag(cal, "holiday_local", 2, "2016-12-06")
    assert flag(cal, "holiday_regional", 2, "2016-11-07")
    assert not flag(cal, "holiday_regional", 1, "2016-11-07") and not flag(cal, "holiday_regional", 3, "2016-11-07")


def test_events_are_their_own_flag():
    cal = holiday_calendar(HOLIDAYS, STORES, DATES)
    assert flag(cal, "is_event", 3, "2016-05-08")
    assert not flag(cal, "holiday_national", 3, "2016-05-08")
