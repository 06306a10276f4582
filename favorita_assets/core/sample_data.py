"""A realistic generated Favorita data set in the exact Kaggle schema, deterministic per seed.

The full train.csv (3,000,888 rows) cannot be redistributed, so demos, tests and benchmarks run on this.
What it models, each on the log scale of a negative-binomial (counted families) or gamma (weighed families) draw:
- family scale: GROCERY I sells thousands a day, BOOKS and BABY CARE are almost always zero; some families are
  introduced partway through history (all zeros before);
- store scale by store type and a per-store trend (some stores grow, some shrink);
- stores that open partway through history (rows of zeros before, as in Kaggle's file) and short closures;
- weekly seasonality (weekends sell more food) and yearly seasonality (December peak, school season);
- paydays (the 15th and the last day of the month, and the day after);
- holidays driven by a generated holiday table in Kaggle's format, resolved by the same code the cleaning uses
  (national, regional, local, transfers, bridges, additional days, events), with 25 December absent as in Kaggle;
- promotions (``onpromotion`` counts from 2014-04 on, in campaigns) with a family-specific lift;
- an oil price random walk with the 2014 crash, weekdays only, with gaps.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from favorita_assets.core.defaults import KAGGLE_END, KAGGLE_START, KAGGLE_STORES, MAX_STORES  # noqa: F401
from favorita_assets.core.holidays import holiday_calendar

TEST_DAYS = 16
PROMOTIONS_START = pd.Timestamp("2014-04-01")


@dataclass(frozen=True)
class Family:
    name: str
    level: float  # mean units per day in an average store
    weighed: bool = False  # sold by weight: fractional sales
    weekend: float = 0.2  # weekend uplift on the log scale
    promo: float = 0.15  # lift per log1p(items on promotion)
    holiday: float = 0.1  # national-holiday effect on the log scale
    launch: str | None = None  # first day it is sold


# Levels are close to the real per-store daily means of the competition data.
FAMILIES: tuple[Family, ...] = (
    Family("AUTOMOTIVE", 6.1, weekend=0.25, promo=0.1),
    Family("BABY CARE", 0.16, weekend=0.0, promo=0.05, launch="2015-03-01"),
    Family("BEAUTY", 3.7, promo=0.1),
    Family("BEVERAGES", 2400, weekend=0.22, promo=0.12, holiday=0.15),
    Family("BOOKS", 0.07, weekend=0.0, promo=0.0, launch="2016-10-08"),
    Family("BREAD/BAKERY", 460, weighed=True, weekend=0.15),
    Family("CELEBRATION", 8.4, promo=0.2, holiday=0.35, launch="2014-04-01"),
    Family("CLEANING", 1070, weekend=0.18, promo=0.1),
    Family("DAIRY", 710, weekend=0.18, promo=0.1),
    Family("DELI", 265, weighed=True, weekend=0.2),
    Family("EGGS", 171, weekend=0.2, promo=0.08),
    Family("FROZEN FOODS", 155, weighed=True, weekend=0.2, holiday=0.25),
    Family("GROCERY I", 3780, weekend=0.22, promo=0.1, holiday=0.12),
    Family("GROCERY II", 21, promo=0.12),
    Family("HARDWARE", 1.1, weekend=0.1, promo=0.05),
    Family("HOME AND KITCHEN I", 20, promo=0.15, launch="2014-01-01"),
    Family("HOME AND KITCHEN II", 16, promo=0.15, launch="2014-01-01"),
    Family("HOME APPLIANCES", 0.46, weekend=0.1, promo=0.05),
    Family("HOME CARE", 182, promo=0.12, launch="2013-06-01"),
    Family("LADIESWEAR", 7.2, promo=0.1, launch="2014-01-01"),
    Family("LAWN AND GARDEN", 6.0, promo=0.1),
    Family("LINGERIE", 7.2, promo=0.1),
    Family("LIQUOR,WINE,BEER", 85, weekend=0.45, promo=0.15, holiday=0.4),
    Family("MAGAZINES", 2.9, promo=0.05, launch="2014-01-01"),
    Family("MEATS", 341, weighed=True, weekend=0.25, promo=0.1, holiday=0.2),
    Family("PERSONAL CARE", 270, promo=0.12),
    Family("PET SUPPLIES", 3.9, promo=0.1, launch="2014-01-01"),
    Family("PLAYERS AND ELECTRONICS", 6.2, promo=0.15, launch="2014-01-01"),
    Family("POULTRY", 350, weighed=True, weekend=0.22, promo=0.1, holiday=0.2),
    Family("PREPARED FOODS", 97, weighed=True, weekend=0.15),
    Family("PRODUCE", 1350, weighed=True, weekend=0.2, promo=0.08),
    Family("SCHOOL AND OFFICE SUPPLIES", 2.9, promo=0.1),
    Family("SEAFOOD", 22, weighed=True, weekend=0.2, promo=0.1),
)
# Which families a reduced data set keeps first: big, weighed, sparse and launched-late ones early on.
_SUBSET_ORDER = (
    "GROCERY I",
    "BEVERAGES",
    "PRODUCE",
    "BOOKS",
    "CLEANING",
    "DAIRY",
    "LIQUOR,WINE,BEER",
    "BABY CARE",
    "MEATS",
    "SCHOOL AND OFFICE SUPPLIES",
    "CELEBRATION",
    "POULTRY",
)

# (city, state, region) - Sierra (highlands) and Costa (coast) have different school calendars.
_CITIES = (
    ("Quito", "Pichincha", "Sierra"),
    ("Guayaquil", "Guayas", "Costa"),
    ("Cuenca", "Azuay", "Sierra"),
    ("Santo Domingo", "Santo Domingo de los Tsachilas", "Costa"),
    ("Machala", "El Oro", "Costa"),
    ("Manta", "Manabi", "Costa"),
    ("Ambato", "Tungurahua", "Sierra"),
    ("Latacunga", "Cotopaxi", "Sierra"),
    ("Riobamba", "Chimborazo", "Sierra"),
    ("Ibarra", "Imbabura", "Sierra"),
    ("Loja", "Loja", "Sierra"),
    ("Babahoyo", "Los Rios", "Costa"),
    ("Quevedo", "Los Rios", "Costa"),
    ("Esmeraldas", "Esmeraldas", "Costa"),
    ("Salinas", "Santa Elena", "Costa"),
    ("Libertad", "Guayas", "Costa"),
    ("Daule", "Guayas", "Costa"),
    ("Playas", "Guayas", "Costa"),
    ("El Carmen", "Manabi", "Costa"),
    ("Puyo", "Pastaza", "Sierra"),
    ("Guaranda", "Bolivar", "Sierra"),
    ("Cayambe", "Pichincha", "Sierra"),
)
_CITY_WEIGHTS = np.array([18, 11, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], dtype=float)
# A chain bigger than Favorita's 54 stores opens in more places: Ecuador's other towns (the Amazon's follow the
# Sierra school calendar), weighted by size, beside more stores in the cities above.
_MORE_CITIES = (
    ("Portoviejo", "Manabi", "Costa"),
    ("Duran", "Guayas", "Costa"),
    ("Milagro", "Guayas", "Costa"),
    ("Samborondon", "Guayas", "Costa"),
    ("Sangolqui", "Pichincha", "Sierra"),
    ("Otavalo", "Imbabura", "Sierra"),
    ("Tulcan", "Carchi", "Sierra"),
    ("Azogues", "Canar", "Sierra"),
    ("Chone", "Manabi", "Costa"),
    ("Jipijapa", "Manabi", "Costa"),
    ("Pasaje", "El Oro", "Costa"),
    ("Santa Rosa", "El Oro", "Costa"),
    ("Huaquillas", "El Oro", "Costa"),
    ("Ventanas", "Los Rios", "Costa"),
    ("Vinces", "Los Rios", "Costa"),
    ("Tena", "Napo", "Sierra"),
    ("Nueva Loja", "Sucumbios", "Sierra"),
    ("Macas", "Morona Santiago", "Sierra"),
    ("Zamora", "Zamora Chinchipe", "Sierra"),
    ("Francisco de Orellana", "Orellana", "Sierra"),
)
_MORE_CITY_WEIGHTS = np.array([3, 3, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], dtype=float)
_ALL_CITIES = _CITIES + _MORE_CITIES
_TYPE_SCALE = {"A": 1.9, "B": 1.0, "C": 0.7, "D": 1.05, "E": 0.6}


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def generate_stores(n_stores: int, rng: np.random.Generator) -> pd.DataFrame:
    """stores.csv: store_nbr 1..n, city/state drawn with big cities more likely, type A-E, cluster 1-17. Stores past
    Kaggle's 54 are drawn from Favorita's cities and Ecuador's other towns together."""
    n_stores = int(n_stores)
    city_idx = rng.choice(len(_CITIES), size=min(n_stores, KAGGLE_STORES), p=_CITY_WEIGHTS / _CITY_WEIGHTS.sum())
    if n_stores > KAGGLE_STORES:
        weights = np.concatenate([_CITY_WEIGHTS, _MORE_CITY_WEIGHTS])
        city_idx = np.concatenate(
            [city_idx, rng.choice(len(_ALL_CITIES), size=n_stores - KAGGLE_STORES, p=weights / weights.sum())]
        )
    city_idx[0] = 0  # store 1 is in Quito, as in the real data
    types = rng.choice(list("ABCDE"), size=n_stores, p=[0.17, 0.15, 0.28, 0.3, 0.1])
    cluster_of_type = {"A": (5, 11, 14, 17), "B": (6, 16), "C": (3, 7, 12, 15), "D": (1, 2, 4, 8, 9, 13), "E": (10,)}
    clusters = [int(rng.choice(cluster_of_type[t])) for t in types]
    return pd.DataFrame(
        {
            "store_nbr": np.arange(1, n_stores + 1),
            "city": [_ALL_CITIES[i][0] for i in city_idx],
            "state": [_ALL_CITIES[i][1] for i in city_idx],
            "type": types,
            "cluster": clusters,
        }
    )


def generate_holidays(first_year: int, last_year: int, stores: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """holidays_events.csv in Kaggle's format: Ecuador's national holidays with transfers, bridges and additional
    days around Christmas, Mother's Day events, and regional/local foundation days for the stores' places."""
    rows: list[tuple[date, str, str, str, str, bool]] = []

    def national(day: date, kind: str, name: str, transferred: bool = False) -> None:
        rows.append((day, kind, "National", "Ecuador", name, transferred))

    # Fixed foundation days per place, stable for a given seed.
    cities = sorted(set(stores["city"]))
    states = sorted(set(stores["state"]))
    city_day = {c: (int(rng.integers(1, 13)), int(rng.integers(1, 29))) for c in cities}
    state_day = {s: (int(rng.integers(1, 13)), int(rng.integers(1, 29))) for s in states}
    movable = {
        5: (24, "Batalla de Pichincha"),
        8: (10, "Primer Grito de Independencia"),
        10: (9, "Independencia de Guayaquil"),
    }
    for year in range(first_year, last_year + 1):
        easter = _easter(year)
        national(date(year, 1, 1), "Holiday", "Primer dia del ano")
        national(easter - timedelta(days=48), "Holiday", "Carnaval")
        national(easter - timedelta(days=47), "Holiday", "Carnaval")
        national(easter - timedelta(days=2), "Holiday", "Viernes Santo")
        national(date(year, 5, 1), "Holiday", "Dia del Trabajo")
        for month, (day_nbr, name) in movable.items():
            day = date(year, month, day_nbr)
            # Since 2016 a holiday on Tuesday moves to Monday, on Wednesday or Thursday to Friday.
            shift = {1: -1, 2: 2, 3: 1}.get(day.weekday(), 0) if year >= 2016 or month == 10 else 0
            if shift:
                national(day, "Holiday", name, transferred=True)
                national(day + timedelta(days=shift), "Transfer", f"Traslado {name}")
            else:
                national(day, "Holiday", name)
        national(date(year, 11, 2), "Holiday", "Dia de Difuntos")
        national(date(year, 11, 3), "Holiday", "Independencia de Cuenca")
        for offset in (4, 3, 2, 1):
            national(date(year, 12, 25) - timedelta(days=offset), "Additional", f"Navidad-{offset}")
        national(date(year, 12, 25), "Holiday", "Navidad")
        national(date(year, 12, 26), "Additional", "Navidad+1")
        national(date(year, 12, 31), "Additional", "Primer dia del ano-1")
        for day, name in ((date(year, 12, 25), "Navidad"), (date(year + 1, 1, 1), "Primer dia del ano")):
            if day.weekday() in (1, 3):  # Tuesday -> Monday bridge; Thursday -> Friday bridge
                bridge = day + timedelta(days=-1 if day.weekday() == 1 else 1)
                national(bridge, "Bridge", f"Puente {name}")
                national(bridge + timedelta(days=12 - bridge.weekday()), "Work Day", f"Recupero puente {name}")
        mothers_day = date(year, 5, 1) + timedelta(days=(6 - date(year, 5, 1).weekday()) % 7 + 7)
        national(mothers_day - timedelta(days=1), "Additional", "Dia de la Madre-1")
        national(mothers_day, "Event", "Dia de la Madre")
        for city, (month, day_nbr) in city_day.items():
            rows.append((date(year, month, day_nbr), "Holiday", "Local", city, f"Fundacion de {city}", False))
        for state, (month, day_nbr) in state_day.items():
            rows.append(
                (date(year, month, day_nbr), "Holiday", "Regional", state, f"Provincializacion de {state}", False)
            )
    frame = pd.DataFrame(rows, columns=["date", "type", "locale", "locale_name", "description", "transferred"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.sort_values(["date", "locale", "description"], kind="stable").reset_index(drop=True)


def generate_oil(dates: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    """oil.csv: WTI on weekdays, a random walk around a level that falls from ~95 to ~45 in late 2014."""
    all_days = pd.date_range(dates[0], dates[-1] + pd.Timedelta(days=TEST_DAYS), freq="D")
    t = (all_days - pd.Timestamp("2014-11-15")).days.to_numpy() / 60.0
    level = 70 - 25 * np.tanh(t)
    walk = np.cumsum(rng.normal(0, 0.012, len(all_days)))
    walk -= np.linspace(0, walk[-1], len(walk))  # keep the walk anchored to the level at both ends
    price = np.round(level * np.exp(walk), 2)
    weekdays = all_days.dayofweek < 5
    frame = pd.DataFrame({"date": all_days[weekdays], "dcoilwtico": price[weekdays]})
    gaps = rng.random(len(frame)) < 0.035
    gaps[0] = True  # Kaggle's file starts with an empty price
    frame.loc[gaps, "dcoilwtico"] = np.nan
    return frame.reset_index(drop=True)


def _choose_families(n_families: int) -> list[Family]:
    by_name = {f.name: f for f in FAMILIES}
    order = list(_SUBSET_ORDER) + [f.name for f in FAMILIES if f.name not in _SUBSET_ORDER]
    chosen = set(order[: int(n_families)])
    return [by_name[n] for n in sorted(chosen)]


def train_calendar(start: str, end: str, extra_days: int = 0) -> pd.DatetimeIndex:
    """Kaggle's calendar: every day from start to end (plus ``extra_days`` after it) except 25 December."""
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=extra_days), freq="D")
    return days[~((days.month == 12) & (days.day == 25))]


def transactions_as_train(transactions: pd.DataFrame, family: str = "TRANSACTIONS") -> pd.DataFrame:
    """Real ``transactions.csv`` shaped as a train.csv with a single family (sales = transactions).

    Kaggle's transactions are a genuine, messy daily demand series per store (stores open on different dates,
    days missing), which makes them the best real test of the pipeline available without the full train.csv.
    """
    frame = transactions.sort_values(["date", "store_nbr"], key=None, kind="stable").reset_index(drop=True)
    return pd.DataFrame(
        {
            "id": np.arange(len(frame), dtype=np.int64),
            "date": frame["date"],
            "store_nbr": frame["store_nbr"].astype(np.int64),
            "family": family,
            "sales": frame["transactions"].astype(np.float64),
            "onpromotion": np.zeros(len(frame), dtype=np.int64),
        }
    )


def check_arguments(n_stores: int, n_families: int, start: str, end: str) -> None:
    """Raise ValueError, in the command's words, for arguments the generator cannot use (before any work)."""
    if not 1 <= n_stores <= MAX_STORES:
        raise ValueError(
            f"--stores must be between 1 and {MAX_STORES:,} (Favorita has {KAGGLE_STORES}), got {n_stores}"
        )
    if not 1 <= n_families <= len(FAMILIES):
        raise ValueError(f"--families must be between 1 and {len(FAMILIES)}, got {n_families}")
    try:
        start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    except ValueError:
        raise ValueError(f"--start {start} / --end {end}: write dates as YYYY-MM-DD") from None
    if end_ts <= start_ts:
        raise ValueError(f"--end ({end}) must be after --start ({start})")


def generate(
    n_stores: int = 54,
    n_families: int = 33,
    start: str = KAGGLE_START,
    end: str = KAGGLE_END,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """All six Kaggle tables as data frames (train, test, stores, oil, holidays_events, transactions)."""
    check_arguments(n_stores, n_families, start, end)
    rng = np.random.default_rng(seed)
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    # Kaggle's calendar: every day but 25 December; the test period is the 16 days after train.
    all_days = train_calendar(start, end, extra_days=TEST_DAYS + 1)
    all_days = all_days[: int((all_days <= end_ts).sum()) + TEST_DAYS]
    n_train = int((all_days <= end_ts).sum())

    stores = generate_stores(n_stores, rng)
    families = _choose_families(n_families)
    holidays = generate_holidays(start_ts.year - 1, all_days[-1].year + 1, stores, rng)
    oil = generate_oil(pd.date_range(start_ts, end_ts, freq="D"), rng)

    # Kaggle orders train rows by date, then store_nbr as text ("1", "10", "11", ...), then family.
    store_order = sorted(stores["store_nbr"].tolist(), key=str)
    st = stores.set_index("store_nbr").loc[store_order].reset_index()
    S, F, T = len(st), len(families), len(all_days)
    t_years = ((all_days - start_ts).days.to_numpy() / 365.25)[:, None, None]

    # Store effects: size by type, a trend per store, openings partway through history and short closures.
    store_scale = np.array([_TYPE_SCALE[t] for t in st["type"]]) * rng.lognormal(0, 0.3, S)
    trend = rng.normal(0.04, 0.06, S)
    open_day = np.zeros(S, dtype=int)
    late = rng.random(S) < 0.12 if S > 2 else np.zeros(S, dtype=bool)
    open_day[late] = rng.integers(60, max(61, n_train - 120), late.sum())
    days_idx = np.arange(T)[:, None]
    is_open = days_idx >= open_day[None, :]
    for s in np.flatnonzero(rng.random(S) < 0.08):  # a few stores close for refurbishment for 1-3 weeks
        begin = int(rng.integers(open_day[s] + 30, max(open_day[s] + 31, n_train - 30)))
        is_open[begin : begin + int(rng.integers(7, 22)), s] = False

    level = np.log(np.array([f.level for f in families]))
    weekend = np.array([f.weekend for f in families])
    promo_lift = np.array([f.promo for f in families])
    holiday_lift = np.array([f.holiday for f in families])
    launch = np.array([(pd.Timestamp(f.launch) if f.launch else start_ts) for f in families], dtype="datetime64[ns]")
    family_noise = rng.normal(0, 0.15, F)
    store_family = rng.normal(0, 0.25, (S, F))

    dow = all_days.dayofweek.to_numpy()
    weekly = np.select([dow == 5, dow == 6, dow == 0], [0.7, 1.0, 0.1], -0.25)[:, None, None] * weekend[None, None, :]
    doy = all_days.dayofyear.to_numpy()
    yearly = (0.06 * np.sin(2 * np.pi * (doy - 80) / 365.25))[:, None, None] * (1 + family_noise)[None, None, :]
    december = np.clip((all_days.day.to_numpy() - 8) / 16, 0, 1) * (all_days.month.to_numpy() == 12)
    yearly = yearly + (0.3 * december)[:, None, None]
    region = np.array([next(c[2] for c in _ALL_CITIES if c[0] == city) for city in st["city"]])
    school = np.where(
        region[None, :] == "Sierra",
        ((all_days.month == 8) | (all_days.month == 9))[:, None],
        ((all_days.month == 4) | (all_days.month == 5))[:, None],
    )
    is_school_family = np.array([f.name == "SCHOOL AND OFFICE SUPPLIES" for f in families])
    seasonal_school = 2.0 * school[:, :, None] * is_school_family[None, None, :]
    dom = all_days.day.to_numpy()
    payday = ((dom == 15) | all_days.is_month_end) * 0.12 + ((dom == 16) | (dom == 1)) * 0.05

    calendar = holiday_calendar(holidays, st, all_days)
    pos = calendar.store_position(st["store_nbr"].to_numpy())
    national = calendar.flags["holiday_national"][pos].T  # (T, S)
    regional_local = (calendar.flags["holiday_regional"] | calendar.flags["holiday_local"])[pos].T
    events = calendar.flags["is_event"][pos].T
    new_year = (all_days.month == 1) & (all_days.day == 1)
    holiday_effect = (
        national[:, :, None] * holiday_lift[None, None, :]
        + regional_local[:, :, None] * 0.5 * holiday_lift[None, None, :]
        + events[:, :, None] * 0.1
        - 2.5 * new_year[:, None, None]  # most stores close or barely trade on New Year's Day
    )

    # Promotions: campaigns per (store, family) that switch on and off, with counts scaled to the family's size.
    promo_scale = np.clip(np.log1p(np.array([f.level for f in families])) * 2.5, 0.2, 40)
    campaign = rng.random((T, S, F)) < 0.15
    campaign = campaign | np.roll(campaign, 1, axis=0) | np.roll(campaign, 2, axis=0)
    onpromotion = rng.poisson(campaign * promo_scale[None, None, :] * rng.uniform(0.2, 1.0, (1, S, 1)))
    onpromotion[all_days < PROMOTIONS_START] = 0
    onpromotion[:, :, promo_lift == 0] = 0

    log_mean = (
        level[None, None, :]
        + np.log(store_scale)[None, :, None]
        + store_family[None, :, :]
        + trend[None, :, None] * t_years
        + weekly
        + yearly
        + seasonal_school
        + payday[:, None, None]
        + holiday_effect
        + promo_lift[None, None, :] * np.log1p(onpromotion)
    )
    mean = np.exp(log_mean)
    active = is_open[:, :, None] & (all_days.values[:, None, None] >= launch[None, None, :])
    mean = mean * active
    # Overdispersed demand: gamma-Poisson for counted families, gamma for weighed ones (kilograms, 3 decimals).
    shape = 8.0
    weighed = np.array([f.weighed for f in families])
    gamma = rng.gamma(shape, 1.0 / shape, mean.shape)
    counted = rng.poisson(mean * gamma).astype(np.float64)
    kilos = np.round(mean * gamma, 3)
    sales = np.where(weighed[None, None, :], kilos, counted)
    onpromotion = onpromotion * active

    dates_str = all_days.strftime("%Y-%m-%d")
    n_rows_train = n_train * S * F
    train = pd.DataFrame(
        {
            "id": np.arange(n_rows_train, dtype=np.int64),
            "date": pd.Categorical.from_codes(np.repeat(np.arange(n_train), S * F), categories=dates_str[:n_train]),
            "store_nbr": np.tile(np.repeat(st["store_nbr"].to_numpy(), F), n_train),
            "family": pd.Categorical.from_codes(
                np.tile(np.arange(F), n_train * S), categories=[f.name for f in families]
            ),
            "sales": sales[:n_train].ravel(),
            "onpromotion": onpromotion[:n_train].ravel().astype(np.int64),
        }
    )
    n_test = T - n_train
    test = pd.DataFrame(
        {
            "id": np.arange(n_rows_train, n_rows_train + n_test * S * F, dtype=np.int64),
            "date": np.repeat(dates_str[n_train:], S * F),
            "store_nbr": np.tile(np.repeat(st["store_nbr"].to_numpy(), F), n_test),
            "family": np.tile([f.name for f in families], n_test * S),
            "onpromotion": onpromotion[n_train:].ravel().astype(np.int64),
        }
    )

    # Transactions: tickets per open store-day, following the store's counted sales; a few days missing.
    counted_total = np.where(weighed[None, None, :], 0, sales[:n_train]).sum(axis=2)
    tickets = np.round(300 + 0.45 * counted_total * rng.lognormal(0, 0.05, counted_total.shape)).astype(np.int64)
    has = (counted_total > 0) & (rng.random(counted_total.shape) > 0.01)
    d_idx, s_idx = np.nonzero(has)
    transactions = pd.DataFrame(
        {
            "date": dates_str[:n_train][d_idx],
            "store_nbr": st["store_nbr"].to_numpy()[s_idx],
            "transactions": tickets[has],
        }
    ).sort_values(["date", "store_nbr"], kind="stable")

    stores_out = stores.sort_values("store_nbr").reset_index(drop=True)
    return {
        "train": train,
        "test": test,
        "stores": stores_out,
        "oil": oil,
        "holidays_events": holidays,
        "transactions": transactions,
    }


def write_sample_data(
    out_dir: str | Path,
    n_stores: int = 54,
    n_families: int = 33,
    start: str = KAGGLE_START,
    end: str = KAGGLE_END,
    seed: int = 0,
) -> dict[str, Path]:
    """Generate and write the six CSV files into ``out_dir``, and an inventory snapshot (inventory.csv) sized from
    the last four weeks of the generated sales; returns their paths by table name."""
    from favorita_assets.core.inventory import example_snapshot

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = generate(n_stores, n_families, start, end, seed)
    train = tables["train"]
    days = pd.to_datetime(train["date"].cat.categories)  # via the categories: no 30 M date strings at 10x size
    recent = train[
        np.isin(train["date"].cat.codes.to_numpy(), np.flatnonzero(days > days.max() - pd.Timedelta(days=28)))
    ]
    tables["inventory"] = example_snapshot(recent, seed=seed)
    tables["oil"] = tables["oil"].assign(dcoilwtico=tables["oil"]["dcoilwtico"].map(_price_text))
    tables["holidays_events"] = tables["holidays_events"].assign(
        transferred=tables["holidays_events"]["transferred"].map({True: "True", False: "False"})
    )
    paths = {}
    for name, frame in tables.items():
        path = out / f"{name}.csv"
        tmp = path.with_suffix(".csv.tmp")
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        frame.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        tmp.replace(path)
        paths[name] = path
    return paths


def _price_text(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2f}"
