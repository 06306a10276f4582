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
