"""The backtest and the champion rule."""

import numpy as np
import pytest

from favorita_assets.core.evaluation import DEEPAR, QUANTILES, choose_champion, history_matrix, run_backtest


def records(n_series=4, days=70, seed=0):
    rng = np.random.default_rng(seed)
    weekly = np.tile([10, 10, 10, 10, 12, 20, 25], days // 7 + 1)[:days]
    return [{"start": "2017-01-01 00:00:00", "target": (weekly * (s + 1) + rng.normal(0, 1, days)).round(1).tolist()}
            for s in range(n_series)]  # fmt: skip


def deepar_like(recs, h, factor):
    """A model whose forecast is the truth times ``factor`` (1 = perfect, 10 = deliberately bad)."""
    out = []
    for r in recs:
        truth = np.array(r["target"][-h:], dtype=float) * factor
        out.append({"mean": truth, **{q: truth * (0.8 + 0.4 * q) for q in QUANTILES}})
    return out


def test_champion_rule_picks_the_baseline_over_a_deliberately_bad_model():
    recs = records()
    bt = run_backtest(recs, 14, deepar_like(recs, 14, factor=10.0))
    champion = choose_champion(bt.scores())
    assert champion.method == "mean_last_4_weekdays" and not champion.deepar_won
    assert champion.margin < -1.0  # DeepAR's RMSLE is more than twice the baseline's


def test_champion_rule_picks_a_better_deepar():
    recs = records()
    champion = choose_champion(run_backtest(recs, 14, deepar_like(recs, 14, factor=1.0)).scores())
    assert champion.method == DEEPAR and champion.margin > 0.5


def test_backtest_scores_every_method_with_every_metric():
    recs = records()
    scores = run_backtest(recs, 7, deepar_like(recs, 7, 1.0)).scores()
    assert set(scores) == {DEEPAR, "last_week", "mean_last_4_weekdays"}
    assert all(set(s) == {"rmsle", "wape", "mase", "mean_wql"} for s in scores.values())
    assert scores[DEEPAR]["rmsle"] == pytest.approx(0.0)


def test_history_matrix_pads_short_series_with_nan():
    m = history_matrix([{"target": [1, 2, 3]}, {"target": [1, 2, 3, 4, 5, "NaN"]}], days=4, cut=1)
    assert np.isnan(m[0, :2]).all() and m[0, 2:].tolist() == [1, 2]
    assert m[1].tolist() == [2, 3, 4, 5]


def test_a_known_closed_day_is_forecast_closed_by_every_candidate():
    from favorita_assets.core.deepar_format import CLOSED_ROW, DYNAMIC_FEATURES

    recs = records(days=70)
    for r in recs:  # day 65 of 70 (inside the last 7) is a known closure, as 25 December would be
        feats = [[0.0] * 70 for _ in DYNAMIC_FEATURES]
        feats[CLOSED_ROW][65] = 1.0
        r["dynamic_feat"] = feats
    bt = run_backtest(recs, 7, deepar_like(recs, 7, 1.3))
    for method, forecast in bt.forecasts.items():
        for key, values in forecast.items():
            assert (values[:, 2] == 0).all(), (method, key)  # window day 2 = series day 65
            assert (values[:, [0, 1, 3]] > 0).all(), (method, key)
