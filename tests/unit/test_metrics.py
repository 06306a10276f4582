"""Metrics and baselines against values worked out by hand."""

import math

import numpy as np
import pytest

from favorita_assets.core import baselines, metrics


def test_rmsle_matches_kaggle_formula():
    y, f = np.array([0.0, 9.0, 99.0]), np.array([1.0, 9.0, 9.0])
    expected = math.sqrt(((math.log(2) - 0) ** 2 + 0 + (math.log(10) - math.log(100)) ** 2) / 3)
    assert metrics.rmsle(y, f) == pytest.approx(expected)
    assert metrics.rmsle(np.array([0.0]), np.array([-5.0])) == 0.0  # negatives clipped to 0


def test_wape():
    assert metrics.wape(np.array([10.0, 0.0, 30.0]), np.array([12.0, 1.0, 27.0])) == pytest.approx(6 / 40)
    assert math.isnan(metrics.wape(np.zeros(3), np.ones(3)))


def test_mase_scales_by_seasonal_naive_error():
    history = [np.array([1, 2, 3, 4, 5, 6, 7, 3, 4, 5, 6, 7, 8, 9], dtype=float)]  # |h_t - h_{t-7}| = 2 everywhere
    y, f = np.array([[10.0, 10.0]]), np.array([[13.0, 9.0]])  # mean abs error 2
    assert metrics.mase(y, f, history) == pytest.approx(1.0)
    flat = [np.zeros(14)]
    assert math.isnan(metrics.mase(y, f, flat))  # a never-changing series has no scale and is left out


def test_quantile_loss_and_mean_wql():
    y = np.array([10.0, 20.0])
    # q=0.9, f=[12, 15]: diffs [-2, 5] -> 2*max(.9*-2, -.1*-2)=0.4 ; 2*max(4.5, -0.5)=9 -> 9.4
    assert metrics.quantile_loss(y, np.array([12.0, 15.0]), 0.9) == pytest.approx(9.4)
    # q=0.5 on the same: 2*0.5*(2+5) = 7
    value = metrics.mean_weighted_quantile_loss(y, {0.9: np.array([12.0, 15.0]), 0.5: np.array([12.0, 15.0])})
    assert value == pytest.approx(((9.4 / 30) + (7 / 30)) / 2)


def test_last_week_repeats_the_last_seven_days():
    history = np.arange(14, dtype=float)[None, :]
    assert baselines.last_week(history, 9).tolist() == [[7, 8, 9, 10, 11, 12, 13, 7, 8]]


def test_mean_of_last_four_same_weekdays_skips_closed_days():
    weeks = np.array([[1.0] * 7, [2.0] * 7, [3.0] * 7, [6.0] * 7]).ravel()
    weeks[-7] = np.nan  # a closed day: the mean uses the other three
    f = baselines.mean_last_4_weekdays(weeks[None, :], 8)
    assert f[0, 0] == pytest.approx(2.0) and f[0, 1] == pytest.approx(3.0) and f[0, 7] == pytest.approx(2.0)


def test_residual_quantiles_are_ordered_and_non_negative():
    rng = np.random.default_rng(0)
    actual = rng.poisson(20, (5, 16)).astype(float)
    point = np.full((5, 16), 20.0)
    q = baselines.residual_quantiles(point, actual, point, (0.1, 0.5, 0.9))
    assert (q[0.1] <= q[0.5]).all() and (q[0.5] <= q[0.9]).all() and (q[0.1] >= 0).all()
    assert (q[0.9] > point).any() and (q[0.1] < point).any()


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="unknown baseline"):
        baselines.forecast("prophet", np.zeros((1, 28)), 3)


def test_mase_pairs_calendar_days_and_skips_a_pair_with_a_closed_day():
    # Weekday pattern 0..6 repeated: every calendar pair (t, t - 7) is equal except where the level steps up.
    history = np.array([0, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 7], dtype=float)  # second week +1: scale 1
    closed = history.copy()
    closed[9] = np.nan  # a closed day: the pairs (9, 2) and (16, 9) are skipped, the others stay calendar pairs
    assert metrics.seasonal_scale(history[None, :])[0] == pytest.approx(1.0)
    assert metrics.seasonal_scale(closed[None, :])[0] == pytest.approx(1.0)
    # Dropping the NaN first (the old way) shifts every later pair by a weekday: the scale would no longer be 1.
    dropped = closed[np.isfinite(closed)]
    assert np.mean(np.abs(dropped[7:] - dropped[:-7])) != pytest.approx(1.0)


def _long_frame(y, f, q=None):
    import pandas as pd

    n, h = y.shape
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), h),
            "ds": np.tile(pd.date_range("2017-01-01", periods=h), n),
            "y": y.ravel(),
            "model": f.ravel(),
        }
    )
    return frame


def test_metrics_agree_with_utilsforecast_on_the_same_long_frame():
    """Our formulas (docstrings) against utilsforecast's losses, on complete data (no closed days)."""
    import pandas as pd
    from utilsforecast import losses

    rng = np.random.default_rng(3)
    n, h, t = 5, 7, 56
    train = rng.gamma(5, 10, (n, t))
    y, f = rng.gamma(5, 10, (n, h)), rng.gamma(5, 10, (n, h))
    frame = _long_frame(y, f)
    train_df = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), t),
            "ds": np.tile(pd.date_range("2016-11-06", periods=t), n),
            "y": train.ravel(),
        }
    )
    theirs = losses.mase(frame, ["model"], seasonality=7, train_df=train_df)["model"].mean()
    assert metrics.mase(y, f, list(train)) == pytest.approx(theirs)
    for q in (0.1, 0.5, 0.9):  # theirs: mean pinball per series; ours: 2 x summed pinball over all points
        pinball = losses.quantile_loss(frame, {"model": "model"}, q=q)["model"].mean()
        assert metrics.quantile_loss(y.ravel(), f.ravel(), q) == pytest.approx(2 * pinball * n * h)
    lo, hi = f * 0.8, f * 1.2
    band = frame.assign(**{"model-lo-80": lo.ravel(), "model-hi-80": hi.ravel()})
    theirs = losses.coverage(band, ["model"], level=80)["model"].mean()
    from favorita_assets.core.calibration import coverage

    assert coverage(y.ravel(), lo.ravel(), hi.ravel()) == pytest.approx(theirs)
