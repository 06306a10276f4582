"""Plots render to PNG with and without bands; a one-day forecast is a point with its interval."""

import numpy as np
import pandas as pd

from favorita_assets.core import plotting


def panel(**overrides):
    history_dates = pd.date_range("2017-07-01", periods=30, freq="D")
    dates = pd.date_range("2017-07-31", periods=7, freq="D")
    values = {
        "title": "All stores",
        "history_dates": history_dates,
        "history": np.linspace(100, 130, 30),
        "dates": dates,
        "mean": np.full(7, 120.0),
        "p10": np.full(7, 100.0),
        "p90": np.full(7, 140.0),
        "forecast_label": "forecast",
    }
    values.update(overrides)
    return plotting.Panel(**values)


def test_render_gives_png_for_one_and_four_panels():
    one = plotting.render([panel()], "Forecast", "a note")
    four = plotting.render([panel(), panel(p10=None, p90=None), panel(actual=np.ones(7)), panel()], "Grid")
    assert one[:8] == b"\x89PNG\r\n\x1a\n" and four[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(four) > len(one)


def _drawn(panel_):
    """The artists matplotlib drew for one panel."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plotting._draw(ax, panel_)
    lines = {line.get_label(): line for line in ax.get_lines()}
    containers = ax.containers
    labels = [t.get_text() for t in [ax.yaxis.label]]
    plt.close(fig)
    return lines, containers, labels


def test_a_one_day_forecast_is_a_point_with_its_interval_and_the_axis_carries_units():
    one_day = panel(
        dates=pd.date_range("2017-07-31", periods=1),
        mean=np.array([120.0]),
        p10=np.array([100.0]),
        p90=np.array([140.0]),
        forecast_label="published forecast",
    )
    lines, containers, labels = _drawn(one_day)
    assert lines["published forecast"].get_marker() not in (None, "None", "")  # a visible point, not a 1-point line
    assert any(len(c.lines) and c.has_yerr for c in containers)  # the P10-P90 interval as an error bar
    assert labels == ["units sold per day"]


def test_a_past_cutoff_draws_the_sales_that_followed():
    lines, _, _ = _drawn(panel(actual=np.full(7, 125.0), actual_label="actual sales after the cut-off"))
    assert "actual sales after the cut-off" in lines
    lines, _, _ = _drawn(panel(actual=np.full(7, np.nan), actual_label="actual sales after the cut-off"))
    assert "actual sales after the cut-off" not in lines  # nothing followed yet: nothing drawn


def test_window_scores_chart_renders():
    png = plotting.window_scores(
        {"DeepAR": [0.4, 0.5, 0.45], "published mix": [0.38, 0.47, None]},
        ["2017-06-29 .. 2017-07-14", "b", "c"],
        "RMSLE per window",
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
