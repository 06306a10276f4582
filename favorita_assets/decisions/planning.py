"""The replenishment plan's and the inventory snapshot's plain parts, beside their assets: which snapshot rows the
horizon can plan, the plan's three checks, what its materialization shows, and the snapshot's store check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from favorita_assets.core import report
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.quality import CheckOutcome

NO_SNAPSHOT = "no inventory snapshot landed: no replenishment plan for this cut-off"
BACKTEST_COLUMNS = ["window", "date", "store_nbr", "family", "actual", "published_mean"]  # what the plan reads
PLAN_CHECKS = ("every_snapshot_row_planned", "orders_are_whole_packs", "stockout_risk_share")


def check_stores(frame: pd.DataFrame, stores: pd.DataFrame, filename: str) -> None:
    """Refuse a snapshot row whose store stores.csv does not have, naming its line."""
    unknown = ~frame["store_nbr"].isin(stores["store_nbr"])
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise FavoritaDataError(
            filename,
            "unknown store: stores.csv has no such store",
            column="store_nbr",
            value=int(frame["store_nbr"].iloc[i]),
            rows=[i + 2],
            fix="use the store numbers of stores.csv",
        )


def split_by_horizon(frame: pd.DataFrame, fc: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The snapshot rows the forecasts can plan, those whose lead time + review period reach beyond the forecast
    horizon (a short horizon cannot say what to order for a longer interval), and that horizon in days."""
    horizon = int(fc.groupby(["store_nbr", "family"]).size().min())
    beyond = frame["lead_time_days"] + frame["review_period_days"] > horizon
    return frame[~beyond].reset_index(drop=True), frame[beyond], horizon


def left_out_warning(left_out: pd.DataFrame, horizon: int) -> str:
    return (
        f"{len(left_out)} snapshot rows need lead time + review period beyond the {horizon}-day "
        "horizon and are not planned; forecast at least that far (prediction_length)"
    )


def short_horizon_reason(horizon: int) -> str:
    return (
        f"every snapshot row needs lead time + review period beyond this cut-off's {horizon}-day horizon; "
        "forecast further (deepar_training_data: prediction_length) to plan"
    )


def plan_checks(plan: pd.DataFrame, planned: pd.DataFrame, left_out: pd.DataFrame, horizon: int) -> list[CheckOutcome]:
    """orders_are_whole_packs (every order >= 0, whole packs, reaching the order-up-to level), every_snapshot_row_
    planned (one finite plan row per snapshot row; an error when a demand is not finite, a warning when rows were
    left out) and stockout_risk_share (a warning above a fifth). ``planned``: the snapshot rows planned."""
    packs = plan["order_quantity"] / plan["pack_size"]
    whole = bool(
        (
            (plan["order_quantity"] >= 0)
            & np.isclose(packs, np.round(packs))
            & (plan["stock_position"] + plan["order_quantity"] >= plan["order_up_to"] - 1e-6)
        ).all()
    )
    finite = bool(
        len(plan) == len(planned) and np.isfinite(plan[["demand_mean", "demand_p90", "order_up_to"]].to_numpy()).all()
    )
    beyond_text = (
        ""
        if left_out.empty
        else (
            f"; {len(left_out)} rows left out, their lead time + review period beyond the {horizon}-day horizon: "
            + ", ".join(f"store {r.store_nbr} {r.family}" for r in left_out.head(10).itertuples())
        )
    )
    risky = int(plan["stockout_risk"].sum())
    share = risky / len(plan)
    return [
        CheckOutcome("orders_are_whole_packs", whole, severity="ERROR"),
        CheckOutcome(
            "every_snapshot_row_planned",
            finite and left_out.empty,
            f"{len(plan)} plan rows for {len(planned) + len(left_out)} snapshot rows{beyond_text}",
            severity="ERROR" if not finite else "WARN",
        ),
        CheckOutcome(
            "stockout_risk_share",
            share <= 0.2,
            f"{risky} of {len(plan)} pairs ({share:.0%}) risk a stockout before an order can arrive",
        ),
    ]


def no_plan_checks(reason: str, passed: bool) -> list[CheckOutcome]:
    """The checks when no plan is made: every_snapshot_row_planned says why; the others have nothing to check."""
    return [
        CheckOutcome("every_snapshot_row_planned", passed, reason),
        *(CheckOutcome(c, True, "nothing planned", severity="ERROR") for c in PLAN_CHECKS[1:]),
    ]


def worst_table(plan: pd.DataFrame, rows: int = 15) -> str:
    """The plan's first ``rows`` rows (the worst risks) as a Markdown table."""
    return (
        "| store | family | flag | stock | demand P90 | order | P(stockout before arrival) |\n"
        "|---|---|---|---|---|---|---|\n"
        + "\n".join(
            f"| {r.store_nbr} | {r.family} | {report.flag_of(r._asdict())} | {r.stock_position:,.0f} | "
            f"{r.demand_p90:,.0f} | "
            f"{r.order_quantity:,.0f} | {r.p_stockout_before_arrival:.0%} |"
            for r in plan.head(rows).itertuples()
        )
    )


def plan_counts(plan: pd.DataFrame, left_out: pd.DataFrame) -> dict[str, int | float]:
    """The plan's counts and totals for its materialization."""
    return {
        "pairs": len(plan),
        "left_out_beyond_horizon": len(left_out),
        "stockout_risk": int(plan["stockout_risk"].sum()),
        "overstock": int(plan["overstock"].sum()),
        "orders": int((plan["order_quantity"] > 0).sum()),
        "units_to_order": round(float(plan["order_quantity"].sum()), 1),
        "expected_cost": round(float(plan["expected_cost"].sum()), 2),
    }
