"""Plots render to PNG with and without bands; the aggregate band follows the backtest's errors."""

import numpy as np
import pandas as pd

from favorita_assets.core import plotting


def panel(**overrides):
    history_dates = pd.date_range("2017-07-01", periods=30, freq="D")
    dates = pd.date_range("2017-07-31", periods=7, freq="D")
    values = dict(title="All stores", history_dates=history_dates, history=np.linspace(100, 130, 30), dates=dates,
                  mean=np.full(7, 120.0), p10=np.full(7, 100.0), p90=np.full(7, 140.0), forecast_label="forecast")  # fmt: skip
    values.update(overrides)
    return plotting.Panel(**values)


def test_render_gives_png_for_one_and_four_panels():
    one = plotting.render([panel()], "Forecast", "a note")
    four = plotting.render([panel(), panel(p10=None, p90=None), panel(actual=np.ones(7)), panel()], "Grid")
    assert one[:8] == b"\x89PNG\r\n\x1a\n" and four[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(four) > len(one)


def test_total_band_scales_with_the_backtest_errors():
    point = np.array([100.0, 200.0])
    tight = plotting.total_band(point, np.array([99.0, 101.0, 100.0]), np.full(3, 100.0))
    loose = plotting.total_band(point, np.array([60.0, 140.0, 100.0]), np.full(3, 100.0))
    assert (tight[0] <= point).all() and (tight[1] >= point).all()
    assert (loose[1] - loose[0] > 10 * (tight[1] - tight[0])).all()
    assert (plotting.total_band(point, np.array([0.0, 0.0]), np.full(2, 100.0))[0] >= 0).all()
