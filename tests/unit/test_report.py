"""The planner's report (favorita_assets/core/report.py): the first screen says what to order today and what could
go wrong, in words; the rest is one click away."""

import re

import numpy as np
import pandas as pd
from test_replenishment import backtest, forecasts, snapshot

from favorita_assets.core import report
from favorita_assets.core.candidates import LABELS
from favorita_assets.core.replenishment import plan

SCORES = {"rmsle": 0.4, "wape": 0.23, "coverage": 0.81}


def inputs():
    rows = [
        {"store_nbr": 1, "on_hand": 0},  # orders, may run out
        {"store_nbr": 2, "on_hand": 40},  # orders
        {"store_nbr": 3, "on_hand": 900},  # overstock
    ]
    stores = pd.DataFrame({"store_nbr": [1, 2, 3], "city": ["Quito", "Guayaquil", "Cuenca"], "type": ["D", "A", "B"]})
    the_plan = plan(forecasts(), backtest(np.ones(120)), snapshot(rows=rows), stores=stores)
    days = pd.date_range("2017-08-16", periods=16)
    band = {"date": days, "mean": 100.0, "p10": 80.0, "p50": 95.0, "p90": 120.0}
    totals = pd.concat(
        [
            pd.DataFrame({"level": "total", "store_nbr": np.nan, "family": None} | band),
            pd.DataFrame({"level": "store", "store_nbr": 1, "family": None} | band),
            pd.DataFrame({"level": "family", "store_nbr": np.nan, "family": "DAIRY"} | band),
        ]
    )
    history = pd.DataFrame({"date": pd.date_range("2017-07-01", "2017-08-15"), "store_nbr": 1, "family": "DAIRY"})
    history["sales"] = 90.0
    evaluation = {
        "published": {"overall": SCORES, "families": {"DAIRY": SCORES}},
        "champions": {"DAIRY": "lightgbm"},
        "champion": "lightgbm (1 families)",
        "windows": [["2017-07-03", "2017-07-18"]] * 3,
        "prediction_length": 16,
    }
    return the_plan, totals, history, evaluation


def test_the_first_screen_says_what_to_order_today_and_what_could_go_wrong_in_words():
    the_plan, totals, history, evaluation = inputs()
    page = report.render(
        cutoff="2017-08-15",
        horizon=("2017-08-16", "2017-08-31"),
        totals=totals,
        history=history,
        evaluation=evaluation,
        labels=LABELS,
        plan=the_plan,
        plan_note="From the snapshot.",
        what_ifs=[],
        plan_warning="a newer inventory snapshot was refused",
    )
    first_screen = page[: page.index('<h2 id="plan">')]
    assert '<h2 id="today">What to order on 2017-08-16</h2>' in first_screen
    ordering = the_plan[the_plan["order_quantity"] > 0]
    table = re.search(r'<table id="order-today".*?</table>', first_screen).group(0)
    assert table.count("<tr>") == 1 + len(ordering)  # the heading and one row per pair to order
    for row in ordering.itertuples():
        assert f'data-value="{float(row.order_quantity)!r}"' in table
        assert f"{row.store_nbr} (Quito, type D)" in table or row.store_nbr != 1
    assert f'data-value="{ordering["arrival_date"].iloc[0]}"' in table  # arrives lead_time_days after the order
    wrong = re.search(r'<ul class="wrong">(.*?)</ul>', first_screen).group(1)
    assert "a newer inventory snapshot was refused" in wrong and "may run out before an order placed today" in wrong
    assert "off by 23% of what sold" in wrong and "between 67% and 149% of what sold" in wrong
    # Models in words, P50 drawn with its band, the model version kept on one line.
    assert "Published per family: LightGBM (global, gradient-boosted, recursive) for 1 family." in page
    assert "lightgbm (1 families)" not in page and '"name":"forecast (P50, the median)"' in page
    assert 'class="t code"' in page and "td.code{white-space:nowrap" in page
    for anchor in ("#plan", "#forecasts", "#accuracy-section", "#what-ifs"):
        assert f'href="{anchor}"' in first_screen and f'id="{anchor[1:]}"' in page


def test_without_a_plan_the_first_screen_says_the_snapshot_was_refused_and_what_to_do():
    _, totals, history, evaluation = inputs()
    warning = "a newer inventory snapshot (inventory.csv, t1) was refused: inventory.csv: a value is out of range"
    page = report.render(
        cutoff="2017-08-15",
        horizon=("2017-08-16", "2017-08-31"),
        totals=totals,
        history=history,
        evaluation=evaluation,
        labels=LABELS,
        plan=None,
        plan_note=f"No plan: no inventory snapshot landed. {warning}.",
        what_ifs=[],
        plan_warning=warning,
    )
    first_screen = page[: page.index('<h2 id="plan">')]
    assert "No plan for this cut-off: the inventory snapshot was refused" in first_screen
    assert f"<li>{warning}</li>" in first_screen and page.count('class="warn"') == 0


def test_why_this_forecast_opens_per_store_with_each_drivers_units():
    from favorita_assets.core import drivers

    the_plan, totals, history, evaluation = inputs()
    summary = pd.DataFrame(
        {"store_nbr": [1, 1, 2], "family": ["DAIRY", "EGGS", "DAIRY"], "published_mean": [160.0, 48.0, 90.0],
         "lightgbm": [150.0, 50.0, 95.0], "baseline": [100.0, 100.0, 100.0]}
    )  # fmt: skip
    for column in drivers.DRIVER_COLUMNS:
        summary[column] = 0.0
    summary["promotions"] = [50.0, -50.0, -5.0]
    kwargs = {
        "cutoff": "2017-08-15",
        "horizon": ("2017-08-16", "2017-08-31"),
        "totals": totals,
        "history": history,
        "evaluation": evaluation,
        "labels": LABELS,
        "plan": the_plan,
        "plan_note": "",
        "what_ifs": [],
    }
    page = report.render(**kwargs, drivers=summary)
    why = page[page.index('<h2 id="why">') : page.index('<h2 id="track-record">')]
    assert why.count("<details>") == 2 and "<summary>Store 1 (2 families)</summary>" in why
    store_1 = re.search(r'<table id="why-store-1".*?</table>', why).group(0)
    assert store_1.count("<tr>") == 3 and ">+50<" in store_1 and ">-50<" in store_1 and "<th>Promotions</th>" in store_1
    assert 'href="#why"' in page
    assert "Not computed for this cut-off." in report.render(**kwargs)
