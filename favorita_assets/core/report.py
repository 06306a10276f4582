"""The planner's report: one self-contained HTML file per cut-off.

It opens offline: plotly.js is written into the page (no CDN), the styles are inline, and nothing else is
fetched. Contents: the all-stores total, per-store and per-family views (interactive Plotly charts with their P10-P90
bands; a menu picks the store or family), the backtest accuracy by family, the replenishment plan as a sortable
table with the worst risks first, and the promotion what-ifs run on the cut-off.

Pure: pandas, numpy and plotly; no Dagster, no AWS.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

PLAN_SHOWN = [  # (column, heading, format)
    ("store_nbr", "Store", "int"),
    ("where", "Where", "text"),
    ("family", "Family", "text"),
    ("flag", "Flag", "text"),
    ("stock_position", "On hand + on order", "units"),
    ("lead_time_days", "Lead time (d)", "int"),
    ("review_period_days", "Review (d)", "int"),
    ("demand_mean", "Demand until next arrival, mean", "units"),
    ("demand_p90", "Demand, P90", "units"),
    ("service_level", "Service level", "pct"),
    ("order_up_to", "Order-up-to", "units"),
    ("order_quantity", "Order now", "units"),
    ("order_date", "Order on", "day"),
    ("arrival_date", "Arrives", "day"),
    ("p_stockout_before_arrival", "P(stockout before an order arrives)", "pct"),
    ("p_stockout_no_order", "P(stockout if no order)", "pct"),
    ("days_of_cover", "Days of cover", "days"),
    ("expected_cost", "Expected cost", "money"),
    ("money_at_risk", "Money at risk", "money"),
    ("order_value", "Order value", "money"),
    ("model_version", "Forecast model", "code"),
]
ORDER_TODAY_SHOWN = [  # the first screen's table: what to order, where, by when
    ("store_name", "Store", "text"),
    ("family", "Family", "text"),
    ("order_quantity", "Order now (units)", "units"),
    ("arrival_date", "Arrives", "day"),
    ("p_stockout_before_arrival", "Chance to run out before it arrives", "pct"),
    ("flag", "Flag", "text"),
]
FIRST_SCREEN_ROWS = 10

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1280px;\
color:#1f2933;padding:0 16px}
h1{font-size:24px;margin-bottom:4px} \
h2{font-size:19px;margin-top:36px;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
.sub{color:#52606d;margin-top:0} .cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #d9e2ec;border-radius:8px;padding:10px 14px;min-width:150px} \
.card b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%;font-size:13px} \
th,td{border-bottom:1px solid #e4e7eb;padding:5px 7px;text-align:right}
th{background:#f5f7fa;cursor:pointer;position:sticky;top:0} td.t,th.t{text-align:left}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
.risk{color:#b42318;font-weight:600} .over{color:#8a5a00;font-weight:600} .ok{color:#52606d}
.note{color:#52606d;font-size:13px} \
.warn{background:#fff4e5;border-left:4px solid #b54708;padding:8px 12px;font-size:14px}
.scroll{max-height:560px;overflow:auto;border:1px solid #e4e7eb} td.code{white-space:nowrap;font-family:monospace}
td.day{white-space:nowrap}
nav{margin:8px 0 0;font-size:14px} nav a{margin-right:14px} ul.wrong{margin:6px 0;padding-left:20px}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, col){
    th.addEventListener('click', function(){
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach(function(o){o.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var x = a.cells[col].getAttribute('data-value'), y = b.cells[col].getAttribute('data-value');
        var nx = parseFloat(x), ny = parseFloat(y), r;
        if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = String(x).localeCompare(String(y)); }
        return asc ? r : -r;
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
"""


def fmt(value, kind: str) -> str:
    """How a table cell shows a value (its exact value is in the cell's data-value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if kind == "int":
        return f"{int(value)}"
    if kind == "units":
        return f"{value:,.0f}"
    if kind == "delta":
        return f"{round(value) + 0:+,}"  # a fraction of a unit either way is +0, never -0
    if kind == "pct":
        return f"{value:.0%}"
    if kind == "days":
        return "no demand" if math.isinf(value) else f"{value:,.1f}"
    if kind == "score":
        return f"{value:.3f}"
    if kind == "money":
        return f"{value:,.2f}"
    return html.escape(str(value))


def _cell(value, kind: str) -> str:
    if kind in ("text", "code", "day") or value is None or (isinstance(value, float) and math.isnan(value)):
        data = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    elif isinstance(value, float) and math.isinf(value):
        data = "1e308"
    else:
        data = repr(float(value)) if kind != "int" else str(int(value))
    css = {"text": ' class="t"', "code": ' class="t code"', "day": ' class="t day"'}.get(kind, "")
    return f'<td{css} data-value="{html.escape(data)}">{fmt(value, kind)}</td>'


def flag_of(row) -> str:
    return "stockout risk" if row["stockout_risk"] else "overstock" if row["overstock"] else "ok"


def where(row) -> str:
    """A store's city and type (stores.csv), where known."""
    city, kind = row.get("city"), row.get("store_type")
    return ", ".join(str(v) for v in (city, f"type {kind}" if _known(kind) else None) if _known(v))


def store_name(row) -> str:
    """A store as a planner names it: its number, city and type."""
    place = where(row)
    return f"{int(row['store_nbr'])} ({place})" if place else f"{int(row['store_nbr'])}"


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _known(value) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def shown_plan(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan with the columns the report adds: the flag, the store's name, the dates as text."""
    out = plan.assign(
        flag=plan.apply(flag_of, axis=1), store_name=plan.apply(store_name, axis=1), where=plan.apply(where, axis=1)
    )
    for column in ("order_date", "arrival_date"):
        out[column] = out[column].map(str) if column in out else ""
    return out


def plan_table(plan: pd.DataFrame) -> str:
    head = "".join(
        f'<th{" class=t" if kind in ("text", "code", "day") else ""} data-column="{col}">{html.escape(label)}</th>'
        for col, label, kind in PLAN_SHOWN
    )
    rows = []
    for record in shown_plan(plan).to_dict("records"):
        css = {"stockout risk": "risk", "overstock": "over"}.get(record["flag"], "ok")
        cells = "".join(_cell(record[col], kind) for col, _, kind in PLAN_SHOWN)
        rows.append(f'<tr class="{css}">{cells}</tr>')
    return (
        f'<div class="scroll"><table id="replenishment" class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def simple_table(frame: pd.DataFrame, columns: list[tuple[str, str, str]], table_id: str) -> str:
    head = "".join(
        f"<th{' class=t' if kind in ('text', 'code', 'day') else ''}>{html.escape(label)}</th>"
        for _, label, kind in columns
    )
    body = "".join(
        "<tr>" + "".join(_cell(r[c], kind) for c, _, kind in columns) + "</tr>" for r in frame.to_dict("records")
    )
    return f'<table id="{table_id}" class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _band_figure(title: str, groups: dict[str, tuple[pd.Series, pd.DataFrame]], menu_label: str | None):
    """One chart; with ``menu_label``, a menu shows one group at a time. ``groups``: name -> (history by date,
    forecast frame with date, mean, p10, p90)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = list(groups)
    for i, name in enumerate(names):
        history, fc = groups[name]
        visible = i == 0
        fig.add_trace(
            go.Scatter(
                x=list(fc["date"]) + list(fc["date"])[::-1],
                y=list(fc["p90"]) + list(fc["p10"])[::-1],
                fill="toself",
                fillcolor="rgba(31,119,180,0.18)",
                line={"width": 0},
                hoverinfo="skip",
                name="P10-P90",
                visible=visible,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=history.index,
                y=history.to_numpy(),
                mode="lines",
                line={"color": "#3e4c59"},
                name="sales",
                visible=visible,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=fc["date"],
                y=fc["p50"],
                mode="lines+markers",
                line={"color": "#1f77b4"},
                name="forecast (P50, the median)",
                visible=visible,
                customdata=np.stack([fc["p10"], fc["p90"], fc["mean"]], axis=-1),
                hovertemplate="%{x|%a %d %b}: P50 %{y:,.0f} "
                "(P10 %{customdata[0]:,.0f} - P90 %{customdata[1]:,.0f}; mean %{customdata[2]:,.0f})<extra></extra>",
            )
        )
    if menu_label and len(names) > 1:
        buttons = [
            {
                "label": name,
                "method": "update",
                "args": [{"visible": [j // 3 == i for j in range(3 * len(names))]}, {"title.text": f"{title}: {name}"}],
            }
            for i, name in enumerate(names)
        ]
        fig.update_layout(updatemenus=[{"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.18, "yanchor": "top"}])
    fig.update_layout(
        title={"text": f"{title}: {names[0]}" if menu_label else title},
        height=380,
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
        yaxis_title="units sold per day",
        legend={"orientation": "h", "y": -0.15},
        template="plotly_white",
    )
    return fig


def accuracy_words(scores: dict) -> str:
    """The backtest's scores in a planner's words: WAPE as how far off a day's forecast was, on average, as a share
    of what sold; RMSLE as the range a typical day's forecast fell in around what sold; the band's coverage."""
    parts = []
    if _finite(scores.get("wape")):
        parts.append(
            f"On the backtest days, a store's forecast for a family was off by {scores['wape']:.0%} of what sold, "
            f"on average (WAPE {scores['wape']:.3f})."
        )
    if _finite(scores.get("rmsle")):
        ratio = math.exp(scores["rmsle"])
        parts.append(
            f"On a typical day the forecast lay between {1 / ratio:.0%} and {ratio:.0%} of what sold "
            f"(RMSLE {scores['rmsle']:.3f}; lower is better)."
        )
    if _finite(scores.get("coverage")):
        parts.append(f"The P10-P90 band held what sold on {scores['coverage']:.0%} of the days (8 in 10 is the aim).")
    return " ".join(parts)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def models_in_words(champions: dict[str, str], labels: dict[str, str]) -> str:
    """Which model publishes how many families, named in words (no code names)."""
    counts = pd.Series(list(champions.values())).value_counts()
    return "; ".join(
        f"{labels.get(name, name)} for {count} {'family' if count == 1 else 'families'}"
        for name, count in counts.items()
    )


def order_today(plan: pd.DataFrame, rows: int = FIRST_SCREEN_ROWS) -> pd.DataFrame:
    """The first screen's table: the pairs to order now, in the plan's order (worst risks, most money first)."""
    ordering = plan[plan["order_quantity"] > 0]
    return shown_plan(ordering.head(rows))


def what_could_go_wrong(plan: pd.DataFrame | None, warning: str | None, overall: dict) -> list[str]:
    """The first screen's list of what could go wrong, each a sentence."""
    items = [warning] if warning else []
    if plan is not None:
        risky, over = plan[plan["stockout_risk"]], plan[plan["overstock"]]
        if len(risky):
            named = ", ".join(
                f"{store_name(r)} {r['family']} ({r['p_stockout_before_arrival']:.0%})"
                for r in risky.head(3).to_dict("records")
            )
            items.append(
                f"{plural(len(risky), 'store x family pair', 'store x family pairs')} may run out before an order "
                f"placed today arrives: {named}" + (f" and {len(risky) - 3} more." if len(risky) > 3 else ".")
            )
        if len(over):
            items.append(
                f"{plural(len(over), 'pair holds', 'pairs hold')} more than the P90 of demand until the next order "
                "can arrive: no order for them; consider moving stock."
            )
        capped = plan[plan["service_level_capped"]] if "service_level_capped" in plan else plan.iloc[:0]
        if len(capped):
            items.append(
                f"{plural(len(capped), 'pair asks', 'pairs ask')} for a service level the backtest cannot resolve: "
                "ordered up to the largest miss seen."
            )
    if overall:
        items.append("How far off the forecast can be: " + accuracy_words(overall))
    return items


def render(
    *,
    cutoff: str,
    horizon: tuple[str, str],
    totals: pd.DataFrame,
    history: pd.DataFrame,
    evaluation: dict,
    labels: dict[str, str],
    plan: pd.DataFrame | None,
    plan_note: str,
    what_ifs: list[dict],
    plan_warning: str | None = None,
    forecast_note: str = "",
    overrides_table: pd.DataFrame | None = None,
    track_record: pd.DataFrame | None = None,
    drivers: pd.DataFrame | None = None,
) -> str:
    """The report's HTML. ``totals``: forecast_totals (level, store_nbr, family, date, mean, p10, p90);
    ``history``: date, store_nbr, family, sales over the weeks before the cut-off; ``evaluation``: metrics.json."""
    import plotly.io as pio

    totals = totals.assign(date=pd.to_datetime(totals["date"]))
    history = history.assign(date=pd.to_datetime(history["date"]), family=history["family"].astype(str))
    total = _band_figure(
        "All stores, all families",
        {
            "all stores": (
                history.groupby("date")["sales"].sum(),
                totals[totals["level"] == "total"].sort_values("date"),
            )
        },
        None,
    )
    stores = totals[totals["level"] == "store"]
    by_store = {
        f"store {int(s)}": (
            history[history["store_nbr"] == s].groupby("date")["sales"].sum(),
            block.sort_values("date"),
        )
        for s, block in stores.groupby("store_nbr")
    }
    families = totals[totals["level"] == "family"]
    by_family = {
        str(f): (history[history["family"] == f].groupby("date")["sales"].sum(), block.sort_values("date"))
        for f, block in families.groupby("family")
    }
    charts = [
        pio.to_html(total, include_plotlyjs=True, full_html=False, div_id="chart-total", config={"displaylogo": False})
    ]
    for fig, div in (
        (_band_figure("Per store", by_store, "store"), "chart-store"),
        (_band_figure("Per family", by_family, "family"), "chart-family"),
    ):
        charts.append(
            pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div, config={"displaylogo": False})
        )

    published = evaluation["published"]
    families_rows = pd.DataFrame(
        [
            {
                "family": f,
                "model": labels.get(m, m),
                "rmsle": published["families"][f]["rmsle"],
                "wape": published["families"][f].get("wape", math.nan),
                "coverage": published["families"][f].get("coverage", math.nan),
                "words": f"off by {published['families'][f]['wape']:.0%} of what sold"
                if _finite(published["families"][f].get("wape"))
                else "",
            }
            for f, m in sorted(evaluation["champions"].items())
        ]
    )
    accuracy = simple_table(
        families_rows,
        [
            ("family", "Family", "text"),
            ("model", "Published model", "text"),
            ("rmsle", "RMSLE", "score"),
            ("wape", "WAPE", "pct"),
            ("coverage", "P10-P90 coverage", "pct"),
            ("words", "On a typical day", "text"),
        ],
        "accuracy",
    )
    overall = published["overall"]
    cards = []
    if plan is not None:
        cards += [
            ("Store x family pairs to order now", f"{int((plan['order_quantity'] > 0).sum())}"),
            ("May run out before an order arrives", f"{int(plan['stockout_risk'].sum())}"),
            ("Overstocked", f"{int(plan['overstock'].sum())}"),
        ]
        if "money_at_risk" in plan and plan["money_at_risk"].notna().any():
            priced = plan["money_at_risk"].notna()
            cards.append(
                (f"Money at risk ({int(priced.sum())} priced pairs)", f"{plan['money_at_risk'].sum(min_count=1):,.0f}")
            )
    cards += [
        ("Backtest RMSLE", f"{overall['rmsle']:.3f}"),
        ("Band coverage (80 % nominal)", f"{overall['coverage']:.0%}"),
    ]
    card_html = "".join(f'<div class="card">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in cards)
    plan_html = plan_table(plan) if plan is not None else ""
    capped = plan[plan["service_level_capped"]] if plan is not None and "service_level_capped" in plan else None
    capped_note = (
        f" <b>{len(capped)} pairs ask for a higher service level than their backtest can resolve</b> (too few "
        "past misses to tell that level apart from the worst one): they order up to the largest miss seen. Lower "
        "their level, or give the backtest more windows."
        if capped is not None and len(capped)
        else ""
    )
    if plan is not None and (plan["order_quantity"] > 0).any():
        first = order_today(plan)
        more = int((plan["order_quantity"] > 0).sum()) - len(first)
        today_html = simple_table(first, ORDER_TODAY_SHOWN, "order-today") + (
            f'<p class="note">And {more} more to order in <a href="#plan">the full plan</a>.</p>' if more > 0 else ""
        )
        order_day = str(first["order_date"].iloc[0])
    else:
        nothing = "Nothing to order today." if plan is not None else plan_note
        if plan is None and plan_warning:
            nothing = "No plan for this cut-off: the inventory snapshot was refused (see what could go wrong)."
        today_html = f'<p class="note">{html.escape(nothing)}</p>'
        order_day = horizon[0]
    wrong = "".join(f"<li>{html.escape(item)}</li>" for item in what_could_go_wrong(plan, plan_warning, overall))
    scenario_html = _what_ifs(what_ifs)
    override_html = _overrides(overrides_table)
    track_html = _track_record(track_record)
    drivers_html = _drivers(drivers)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Favorita forecast report: cut-off {html.escape(cutoff)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; \
style-src 'unsafe-inline'; img-src data:; font-src data:">
<style>{_CSS}</style></head><body>
<h1>Favorita demand forecast</h1>
<p class="sub">Forecast made with the sales up to {html.escape(cutoff)}, \
for {html.escape(horizon[0])} .. {html.escape(horizon[1])}. \
Published per family: {html.escape(models_in_words(evaluation["champions"], labels))}.</p>
<p class="note" id="forecast-used">{html.escape(forecast_note)}</p>
<nav>More: <a href="#plan">Full plan</a><a href="#forecasts">Forecasts</a><a href="#accuracy-section">Accuracy</a>\
<a href="#why">Why this forecast</a><a href="#track-record">Track record</a><a href="#overrides">Overrides</a>\
<a href="#what-ifs">Promotion what-ifs</a></nav>
<div class="cards">{card_html}</div>
<h2 id="today">What to order on {html.escape(order_day)}</h2>
{today_html}
<h2 id="wrong">What could go wrong</h2>
<ul class="wrong">{wrong}</ul>
<h2 id="plan">Replenishment plan</h2>
{f'<p class="warn" role="alert">{html.escape(plan_warning)}</p>' if plan_warning and plan is not None else ""}
<p class="note">{html.escape(plan_note)} Worst risks first; click a heading to sort.
<b>Stockout risk</b>: the chance that demand before an order placed today can arrive exceeds the stock on hand and
on order is above 1 - service level. <b>Overstock</b>: the stock exceeds the P90 of demand until the next order
could arrive, and covers more days than the threshold. <b>Order now</b>: up to the service-level quantile of demand over
lead time + review period, in whole packs, placed on the order date and arriving lead time days later.
<b>Money at risk</b> (where a unit price is given): the margin lost on
the units expected short after the order plus the holding cost of those expected left over; such pairs come first,
the largest first.{capped_note}</p>
{plan_html}
<h2 id="forecasts">Forecast: all stores</h2>
<p class="note">The line is the P50 (the median: as likely above as below); the band is P10-P90, 8 days in 10 should
fall inside. Hover a day for its mean.</p>{charts[0]}
<h2>Forecast per store</h2><p class="note">Pick a store in the menu at the top right of the chart.</p>{charts[1]}
<h2>Forecast per family</h2><p class="note">Pick a family in the menu at the top right of the chart.</p>{charts[2]}
<h2 id="accuracy-section">Backtest accuracy by family</h2>
<p class="note">Scored on {len(evaluation["windows"])} backtest windows of {evaluation["prediction_length"]} days \
before the cut-off. {html.escape(accuracy_words(overall))}</p>
{accuracy}
<h2 id="why">Why this forecast</h2>{drivers_html}
<h2 id="track-record">Track record: past cut-offs against the sales that followed</h2>{track_html}
<h2 id="overrides">Planner overrides</h2>{override_html}
<h2 id="what-ifs">Promotion what-ifs</h2>{scenario_html}
<script>{_SORT_JS}</script>
</body></html>
"""


def _what_ifs(what_ifs: list[dict]) -> str:
    if not what_ifs:
        return (
            '<p class="note">None run on this cut-off yet. Run one with <code>favorita what-if --scenario FILE</code> '
            "or the promotion_what_if job in the Dagster UI; its results appear here.</p>"
        )
    parts = []
    columns = [
        ("scenario_row", "Line", "int"),
        ("family", "Family", "text"),
        ("stores", "Stores", "int"),
        ("first_date", "From", "text"),
        ("last_date", "To", "text"),
        ("onpromotion", "On promotion", "units"),
        ("base_units", "Base plan, units", "units"),
        ("scenario_units", "Scenario, units", "units"),
        ("lift_units", "Lift", "units"),
        ("lift_p10", "Lift P10", "units"),
        ("lift_p90", "Lift P90", "units"),
        ("lift_pct", "Lift %", "pct"),
        ("note", "Note", "text"),
    ]
    for item in what_ifs:
        frame = pd.DataFrame(item["rows"]).astype(object).where(lambda f: f.notna(), None)
        frame = frame.apply(lambda col: col.map(lambda v: float("nan") if v is None else v))
        parts.append(
            f'<h3>{html.escape(item["name"])}</h3><p class="note">Scenario file {html.escape(item["file"])}; '
            "the lift is the scenario against the same models without it; its P10-P90 assumes the two "
            "forecasts' errors move together.</p>" + simple_table(frame, columns, f"whatif-{item['name']}")
        )
    return "".join(parts)


def _overrides(table: pd.DataFrame | None) -> str:
    if table is None or table.empty:
        return (
            '<p class="note">None landed for this cut-off. Land a set with <code>favorita override --file FILE</code> '
            "or the apply_overrides job in the Dagster UI; every set landed stays listed here.</p>"
        )
    columns = [
        ("landed_at", "Landed (UTC)", "text"),
        ("set", "Set", "text"),
        ("planner", "Planner", "text"),
        ("store_nbr", "Store", "text"),
        ("family", "Family", "text"),
        ("start", "From", "text"),
        ("end", "To", "text"),
        ("rule", "Rule", "text"),
        ("reason", "Reason", "text"),
        ("statistical_units", "Statistical, units", "units"),
        ("adjusted_units", "Adjusted, units", "units"),
        ("units_changed", "Change", "units"),
    ]
    note = '<p class="note">Every override set landed, oldest first; the last one is in effect.</p>'
    return note + simple_table(table.astype({"store_nbr": str}), columns, "overrides")


def _track_record(table: pd.DataFrame | None) -> str:
    if table is None or table.empty:
        return (
            '<p class="note">No earlier cut-off has its horizon\'s sales yet: the first month comes with the next '
            "refresh.</p>"
        )
    columns = [
        ("month", "Cut-off", "text"),
        ("rmsle_naive", "RMSLE naive", "score"),
        ("rmsle_statistical", "RMSLE statistical", "score"),
        ("rmsle_adjusted", "RMSLE adjusted", "score"),
        ("wape_statistical", "WAPE statistical", "pct"),
        ("wape_adjusted", "WAPE adjusted", "pct"),
        ("bias_statistical", "Bias statistical", "pct"),
        ("bias_adjusted", "Bias adjusted", "pct"),
        ("coverage_statistical", "P10-P90 coverage", "pct"),
        ("overridden_series_days", "Overridden days", "int"),
        ("value_added_wape", "Value added by overrides (WAPE)", "pct"),
    ]
    note = (
        '<p class="note">Each past cut-off scored on the sales of its horizon, all stores and families: the naive '
        "baseline (last week repeated), the statistical forecast and the adjusted one. Bias is (forecast - sales) / "
        "sales. Value added: the statistical WAPE minus the adjusted one, positive when the overrides helped.</p>"
    )
    return note + simple_table(table.tail(6), columns, "track-record")


def _drivers(summary: pd.DataFrame | None) -> str:
    """Per store (one click each), every family's horizon in units: the published forecast, LightGBM's, its
    baseline and what each driver adds or takes away."""
    from favorita_assets.core.drivers import DRIVER_COLUMNS, DRIVERS

    if summary is None or summary.empty:
        return '<p class="note">Not computed for this cut-off.</p>'
    columns = [
        ("family", "Family", "text"),
        ("published_mean", "Published, units", "units"),
        ("lightgbm", "LightGBM, units", "units"),
        ("baseline", "Baseline", "units"),
        *[(c, d.capitalize(), "delta") for c, d in zip(DRIVER_COLUMNS, DRIVERS, strict=True)],
    ]
    note = (
        '<p class="note">Units over the whole horizon, per store and family. LightGBM explains its own forecast: '
        "a baseline (its average day) plus what each driver adds (+) or takes away (-), adding up to its forecast. "
        "The recent level is the last days' sales; the weekly pattern the same weekday in past weeks and the "
        "weekday itself. The published forecast is beside it: where another model is published for the family, "
        "the drivers still say what moves the number, not by exactly how much. Every day of every pair: "
        "the forecast_drivers table. Click a store to open it.</p>"
    )
    blocks = [
        f"<details><summary>Store {int(store)} ({plural(len(block), 'family', 'families')})</summary>"
        + simple_table(block, columns, f"why-store-{int(store)}")
        + "</details>"
        for store, block in summary.groupby("store_nbr", sort=True)
    ]
    return note + "".join(blocks)
