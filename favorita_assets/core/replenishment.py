"""The replenishment plan: from the published forecast and an inventory snapshot to an order per store and family.

Pure: pandas and numpy only.

**The demand over an interval.** An order placed now arrives after the lead time L; the next chance to order is
after the review period R. What is on hand, on order and ordered now must cover the demand D of the P = L + R days
after the cut-off. Its distribution is *not* the sum of the daily quantiles (that overstates the P90 of a sum,
since days are not perfectly correlated), nor a sum of independent days (that understates it: one forecast's
errors are correlated across its days). It comes from how the published forecasts' own P-day sums missed on the
backtest windows: for every series and window, r = log1p(actual sum of days 1..P) - log1p(forecast sum of days 1..P).
Every P-day stretch of a window counts (days 1..P, 2..P+1, ...: overlapping sums), so a window of H days gives
H - P + 1 residuals per series, not one. A series' demand samples are then D_j = expm1(log1p(M) + r_j), M its
published mean over its P days, r_j the residuals of its family (or of every family, when the family has fewer
than ``MIN_RESIDUALS``). It is the same split-conformal idea as the daily bands, applied to the sum; the correlation
between days is in the residuals.

**The order.** The order-up-to level S is the k-th smallest of the m demand samples, k = ceil((m + 1) level) (the
finite-sample conformal order statistic). When k >= m, the samples are too few to tell the level from any higher
one: S is the largest sample (the worst miss seen), and the plan says so (``service_level_capped``).
The level is the row's ``target_service_level``; else, with costs, the newsvendor critical ratio
cu / (cu + co), with cu = stockout_cost and co = unit_cost x holding_cost_rate x R / 365 (a unit left over waits
one review period); else the plan's default. The order is max(0, S - (on_hand + on_order)), rounded up to whole
packs.

**Money.** With a ``unit_price``, the plan prices what it expects to go wrong after the order: the margin lost on
the expected units short (price - unit_cost, or the price when no cost is given) plus the holding cost of the
expected units left over (unit_cost x holding_cost_rate x R / 365, when given): the money at risk, which orders the
plan where it is known. With a ``unit_cost``, each order's value. Units are never added across families; money is.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from favorita_assets.core.errors import FavoritaDataError

MIN_RESIDUALS = 30  # fewer backtest residuals than this in a family: pool every family's
DEFAULT_SERVICE_LEVEL = 0.95
DEFAULT_OVERSTOCK_COVER_DAYS = 30.0

PLAN_COLUMNS = [
    "store_nbr",
    "city",
    "store_type",
    "family",
    "on_hand",
    "on_order",
    "stock_position",
    "lead_time_days",
    "review_period_days",
    "order_date",
    "arrival_date",
    "next_order_date",
    "pack_size",
    "service_level",
    "service_level_from",
    "service_level_capped",
    "demand_mean",
    "demand_p10",
    "demand_p50",
    "demand_p90",
    "lead_time_demand_mean",
    "order_up_to",
    "order_quantity",
    "p_stockout_no_order",
    "p_stockout_before_arrival",
    "days_of_cover",
    "stockout_risk",
    "overstock",
    "expected_units_short",
    "expected_units_over",
    "expected_cost",
    "order_value",
    "money_at_risk",
    "residuals",
    "residuals_from",
    "model_version",
    "forecast",
]


def interval_residuals(backtest: pd.DataFrame, days: int, *, overlapping: bool = True) -> pd.DataFrame:
    """Per series, backtest window and ``start`` day: r = log1p(actual over days start..start+days-1 of the window)
    - log1p(the published forecast over them). ``overlapping``: every start from 1 to H - days + 1 (H the window's
    length); else only start 1. ``backtest`` is forecast_evaluation's table (window, date, store_nbr, family,
    actual, published_mean)."""
    keys = ["window", "store_nbr", "family"]
    bt = backtest.sort_values([*keys, "date"])
    length = int(bt.groupby(keys, observed=True).size().min()) if len(bt) else 0
    last_start = max(1, length - days + 1) if overlapping else 1
    values = bt[["actual", "published_mean"]].to_numpy(dtype=float)
    values[:, 1] = np.clip(values[:, 1], 0, None)
    day = bt.groupby(keys, observed=True).cumcount().to_numpy() + 1
    # A running sum per series turns each stretch's sum into one subtraction: cum[end] - cum[start - 1].
    cum = np.vstack([np.zeros((1, 2)), np.cumsum(values, axis=0)])
    first_row = np.flatnonzero(day == 1)
    head = bt.iloc[first_row][keys].reset_index(drop=True)
    frames = []
    for start in range(1, last_start + 1):
        begin, end = first_row + start - 1, first_row + start - 1 + days
        ok = end <= np.append(first_row[1:], len(bt))
        sums = cum[end[ok]] - cum[begin[ok]]
        frames.append(
            head[ok].assign(
                start=start,
                actual=sums[:, 0],
                published_mean=sums[:, 1],
                r=np.log1p(sums[:, 0]) - np.log1p(sums[:, 1]),
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*keys, "start", "r"])


def order_statistic(samples: np.ndarray, level: float) -> tuple[float, bool]:
    """The k-th smallest of the m samples, k = ceil((m + 1) level) (the conformal finite-sample order statistic),
    and whether the level was capped: k >= m means the samples are too few to tell the level apart from any higher
    one, and the largest sample (the worst miss seen) is taken."""
    m = len(samples)
    k = min(math.ceil((m + 1) * level - 1e-9), m)
    return float(np.partition(np.asarray(samples, dtype=float), k - 1)[k - 1]), k >= m


def service_levels(inventory: pd.DataFrame, default: float) -> tuple[np.ndarray, np.ndarray]:
    """The service level of each row and where it comes from: 'target', 'costs' (the critical ratio) or 'default'."""
    target = inventory["target_service_level"].to_numpy(dtype=float)
    co = (inventory["unit_cost"] * inventory["holding_cost_rate"] * inventory["review_period_days"] / 365).to_numpy(
        dtype=float
    )
    cu = inventory["stockout_cost"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cu + co > 0, cu / (cu + co), np.nan)
    ratio = np.clip(ratio, 0.5, 0.999)  # below 0.5 the newsvendor would stock less than the median; above, ~no cap
    level = np.where(np.isfinite(target), target, np.where(np.isfinite(ratio), ratio, default))
    source = np.where(np.isfinite(target), "target", np.where(np.isfinite(ratio), "costs", "default"))
    return level, source


def plan(
    forecasts: pd.DataFrame,
    backtest: pd.DataFrame,
    inventory: pd.DataFrame,
    *,
    file: str = "inventory.csv",
    service_level: float = DEFAULT_SERVICE_LEVEL,
    overstock_cover_days: float = DEFAULT_OVERSTOCK_COVER_DAYS,
    stores: pd.DataFrame | None = None,
    forecast: str = "statistical",
) -> pd.DataFrame:
    """One row per snapshot row (PLAN_COLUMNS), the worst risks first. ``forecasts``: the published table (date,
    store_nbr, family, mean, model_version), or the adjusted one; ``forecast`` says which, in every row;
    ``backtest``: forecast_evaluation's table; ``stores``: stores.csv (store_nbr, city, type), for the store's city
    and type. An order is placed on the horizon's first day (the day after the cut-off), arrives lead_time_days
    later, and the next can be placed review_period_days later."""
    f = forecasts.assign(family=forecasts["family"].astype(str)).sort_values(["store_nbr", "family", "date"])
    horizon = int(f.groupby(["store_nbr", "family"]).size().min())
    interval = inventory["lead_time_days"] + inventory["review_period_days"]
    too_long = interval > horizon
    if too_long.any():
        i = int(np.flatnonzero(too_long.to_numpy())[0])
        raise FavoritaDataError(
            file,
            f"lead time + review period = {int(interval.iloc[i])} days is beyond the "
            f"forecast horizon of {horizon} days",
            column="lead_time_days, review_period_days",
            value=f"{int(inventory['lead_time_days'].iloc[i])}, {int(inventory['review_period_days'].iloc[i])}",
            rows=[i + 2],
            fix=f"keep lead_time_days + review_period_days within {horizon}, or "
            "forecast further (deepar_training_data: prediction_length)",
        )
    means = {key: block["mean"].to_numpy(dtype=float) for key, block in f.groupby(["store_nbr", "family"])}
    versions = f.drop_duplicates(["store_nbr", "family"]).set_index(["store_nbr", "family"])["model_version"]
    order_day = pd.Timestamp(f["date"].min())
    places = (
        stores.assign(store_nbr=stores["store_nbr"].astype(int)).set_index("store_nbr")
        if stores is not None
        else pd.DataFrame(columns=["city", "type"])
    )
    level, source = service_levels(inventory, service_level)
    pools: dict[int, tuple[dict[str, np.ndarray], np.ndarray]] = {}
    rows = []
    for i, row in enumerate(inventory.itertuples(index=False)):
        key = (int(row.store_nbr), row.family)
        L, R = int(row.lead_time_days), int(row.review_period_days)
        P = L + R
        residuals, origin = _pooled(backtest, pools, P, row.family)
        daily = means[key]
        m_p, m_l = daily[:P].sum(), daily[:L].sum()
        demand = np.clip(np.expm1(np.log1p(m_p) + residuals), 0, None)
        lead = np.clip(np.expm1(np.log1p(m_l) + _pooled(backtest, pools, L, row.family)[0]), 0, None)
        position = float(row.on_hand + row.on_order)
        sl = float(level[i])
        s, capped = order_statistic(demand, sl)
        pack = 1.0 if not np.isfinite(row.pack_size) else float(row.pack_size)
        order = math.ceil(max(0.0, s - position) / pack - 1e-9) * pack
        after = position + order
        per_day = daily.mean()
        cover = position / per_day if per_day > 0 else (math.inf if position > 0 else 0.0)
        p90 = float(np.quantile(demand, 0.9))
        p_lead = float((lead > position).mean())
        costed = np.isfinite(row.stockout_cost)
        short = float(np.clip(demand - after, 0, None).mean())
        over = float(np.clip(after - demand, 0, None).mean())
        co = row.unit_cost * row.holding_cost_rate * R / 365 if costed else math.nan
        money = _money_at_risk(row, short, over, R)
        rows.append(
            {
                "store_nbr": key[0],
                "city": places["city"].get(key[0]),
                "store_type": places["type"].get(key[0]),
                "family": key[1],
                "on_hand": float(row.on_hand),
                "on_order": float(row.on_order),
                "stock_position": position,
                "lead_time_days": L,
                "review_period_days": R,
                "order_date": order_day.date(),
                "arrival_date": (order_day + pd.Timedelta(days=L)).date(),
                "next_order_date": (order_day + pd.Timedelta(days=R)).date(),
                "pack_size": pack,
                "service_level": round(sl, 4),
                "service_level_from": str(source[i]),
                "service_level_capped": capped,
                "demand_mean": float(demand.mean()),
                "demand_p10": float(np.quantile(demand, 0.1)),
                "demand_p50": float(np.quantile(demand, 0.5)),
                "demand_p90": p90,
                "lead_time_demand_mean": float(lead.mean()),
                "order_up_to": s,
                "order_quantity": float(order),
                "p_stockout_no_order": float((demand > position).mean()),
                "p_stockout_before_arrival": p_lead,
                "days_of_cover": float(cover),
                "stockout_risk": bool(p_lead > 1 - sl),
                "overstock": bool(position > p90 and cover > overstock_cover_days),
                "expected_units_short": short,
                "expected_units_over": over,
                "expected_cost": short * row.stockout_cost + over * co if costed else math.nan,
                "order_value": float(order * row.unit_cost) if np.isfinite(row.unit_cost) else math.nan,
                "money_at_risk": money,
                "residuals": len(residuals),
                "residuals_from": origin,
                "model_version": versions[key],
                "forecast": forecast,
            }
        )
    table = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    table[["city", "store_type"]] = table[["city", "store_type"]].astype("string")  # text even where unknown
    risk = np.where(table["stockout_risk"], 2, np.where(table["overstock"], 1, 0))
    # Where prices are known, the money at risk orders the plan first (unknown last); then the flags, the chance of
    # a stockout before an order arrives, the overstock's size in units (so a family that sells a few units a month
    # does not top the overstock list for holding 3 of them), the units to order.
    money = table["money_at_risk"].fillna(-1.0).to_numpy()
    excess = np.where(table["overstock"], table["stock_position"] - table["demand_p90"], 0.0)
    ranking = np.lexsort(
        (-table["order_quantity"].to_numpy(), -excess, -table["p_stockout_before_arrival"].to_numpy(), -risk, -money)
    )
    return table.iloc[ranking].reset_index(drop=True)


def _money_at_risk(row, short: float, over: float, review_days: int) -> float:
    """The margin lost on ``short`` expected units plus the holding cost of ``over``; NaN without a unit_price."""
    price = getattr(row, "unit_price", math.nan)
    if not np.isfinite(price):
        return math.nan
    cost = row.unit_cost if np.isfinite(row.unit_cost) else 0.0
    holding = (
        over * row.unit_cost * row.holding_cost_rate * review_days / 365
        if np.isfinite(row.unit_cost) and np.isfinite(row.holding_cost_rate)
        else 0.0
    )
    return float(short * max(price - cost, 0.0) + holding)


def _pooled(
    backtest: pd.DataFrame, pools: dict[int, tuple[dict[str, np.ndarray], np.ndarray]], days: int, family: str
) -> tuple[np.ndarray, str]:
    """The residuals of ``days``-day sums for ``family`` (its own, or every family's when it has too few), and whose.
    Each interval's residuals are split by family once (``pools``): a row costs a lookup, not a scan of them all."""
    if days not in pools:
        pool = interval_residuals(backtest, days)
        by_family = {str(f): block["r"].to_numpy() for f, block in pool.groupby(pool["family"].astype(str), sort=False)}
        pools[days] = (by_family, pool["r"].to_numpy())
    by_family, every = pools[days]
    own = by_family.get(family, every[:0])
    return (own, family) if len(own) >= MIN_RESIDUALS else (every, "all families")


def summary_text(table: pd.DataFrame, month: str, limit: int = 15) -> str:
    """A planner's summary: how many pairs risk a stockout, how many are overstocked, what to order, the worst."""
    risky, over = table[table["stockout_risk"]], table[table["overstock"]]
    ordering = table[table["order_quantity"] > 0]
    lines = [
        f"Replenishment plan for the forecast cut-off {month}: {len(table)} store x family pairs.",
        f"- {len(risky)} at risk of a stockout before an order placed today can arrive;",
        f"- {len(over)} overstocked (stock above the P90 of demand until the next order can arrive, and more than "
        "the cover threshold);",
        f"- {len(ordering)} to order now (units are not added across families: see each pair's order).",
    ]
    capped = table[table["service_level_capped"]] if "service_level_capped" in table else table.iloc[:0]
    if len(capped):
        lines.append(
            f"- {len(capped)} pairs ask for a service level their backtest is too short to resolve (e.g. store "
            f"{capped['store_nbr'].iloc[0]}, {capped['family'].iloc[0]} at {capped['service_level'].iloc[0]:.0%} "
            f"from {capped['residuals'].iloc[0]} samples): they order up to the largest miss seen; lower the level "
            "or give the backtest more windows."
        )
    for r in risky.head(limit).itertuples():
        lines.append(
            f"  stockout risk: store {r.store_nbr}, {r.family}: stock {r.stock_position:,.0f}, "
            f"P(stockout before arrival) {r.p_stockout_before_arrival:.0%}, order {r.order_quantity:,.0f}"
        )
    if len(risky) > limit:
        lines.append(f"  ... and {len(risky) - limit} more at risk (see the plan)")
    return "\n".join(lines)
