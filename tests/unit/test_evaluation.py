"""The rolling-origin backtest, the cross-conformal bands, the per-family champions and the coherent totals."""

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core import calibration, hierarchy
from favorita_assets.core.candidates import ENSEMBLE, challenger, stopped_selling
from favorita_assets.core.deepar_format import CLOSED_ROW, DYNAMIC_FEATURES
from favorita_assets.core.evaluation import DEEPAR, QUANTILES, evaluate, history_matrix, problems_from_records

CUTOFF = pd.Timestamp("2017-03-31")


def records(n_series=4, days=98, seed=0):
    rng = np.random.default_rng(seed)
    weekly = np.tile([10, 10, 10, 10, 12, 20, 25], days // 7 + 1)[:days]
    return [
        {
            "start": "2017-01-01 00:00:00",
            "target": (weekly * (s + 1) * rng.lognormal(0, 0.15, days)).round(1).tolist(),
            "cat": [s, s % 2, 0, 0],
            "dynamic_feat": [[0.0] * days for _ in DYNAMIC_FEATURES],
        }
        for s in range(n_series)
    ]


def truth_times(recs, h, k, factor):
    """A model whose window forecasts are the truth times ``factor`` (1 = perfect, 3 = bad), per window."""
    y = history_matrix(recs, len(recs[0]["target"]))
    days = y.shape[1]
    return [y[:, days - (k - w) * h : days - (k - w) * h + h] * np.asarray(factor).reshape(-1, 1) for w in range(k)]


def test_every_candidate_is_scored_on_every_window_with_every_metric():
    recs = records()
    ev = evaluate(
        recs,
        7,
        3,
        CUTOFF,
        ["A", "B", "A", "B"],
        {DEEPAR: truth_times(recs, 7, 3, 1.0), "last_week": truth_times(recs, 7, 3, 2.0)},
    )
    assert ev.backtest.actual.shape == (3, 4, 7)
    assert [w[1] for w in ev.backtest.windows] == [
        CUTOFF - pd.Timedelta(days=14),
        CUTOFF - pd.Timedelta(days=7),
        CUTOFF,
    ]
    for scores in ev.scores.values():
        assert len(scores["windows"]) == 3
        assert set(scores["overall"]) == {"rmsle", "wape", "mase", "mean_wql", "coverage"}
        assert set(scores["families"]) == {"A", "B"}
    assert ev.scores[DEEPAR]["overall"]["rmsle"] == pytest.approx(0.0)


def test_each_family_gets_its_own_champion():
    recs = records()
    good_for_a = np.array([1.0, 3.0, 1.0, 3.0])  # "deepar" is perfect on family A, three times too high on B
    ev = evaluate(
        recs,
        7,
        3,
        CUTOFF,
        ["A", "B", "A", "B"],
        {DEEPAR: truth_times(recs, 7, 3, good_for_a), "last_week": truth_times(recs, 7, 3, 1.3)},
    )
    assert ev.champions == {"A": DEEPAR, "B": "last_week"}
    mean, _ = ev.mix()
    assert np.allclose(mean[:, [1, 3]], ev.backtest.forecasts["last_week"]["mean"][:, [1, 3]])
    # the published mix beats both candidates, and its nested score (champions chosen without the window) exists
    assert ev.published["overall"]["rmsle"] < min(s["overall"]["rmsle"] for s in ev.scores.values())
    assert len(ev.published["nested"]["windows"]) == 3


def test_a_windows_band_never_learns_from_that_windows_own_errors():
    recs = records()
    forecasts = {"last_week": truth_times(recs, 7, 3, 1.2)}
    before = evaluate(recs, 7, 3, CUTOFF, ["A"] * 4, forecasts)
    changed = [dict(r, target=list(r["target"])) for r in recs]
    for r in changed:  # the actuals of the oldest window (days 77..83) only
        r["target"][77:84] = [v * 5 for v in r["target"][77:84]]
    after = evaluate(changed, 7, 3, CUTOFF, ["A"] * 4, forecasts)
    for q in QUANTILES:  # window 0's band depends on windows 1 and 2 only...
        assert np.allclose(before.bands["last_week"][q][0], after.bands["last_week"][q][0])
        assert not np.allclose(before.bands["last_week"][q][1], after.bands["last_week"][q][1])  # ...unlike theirs


def test_bands_have_width_at_a_one_day_horizon():
    recs = records(n_series=6)
    ev = evaluate(recs, 1, 3, CUTOFF, ["A"] * 6, {"last_week": truth_times(recs, 1, 3, 1.1)})
    bands = ev.bands["last_week"]
    assert (bands[0.9] - bands[0.1] > 0).any()


def test_conformal_offsets_give_nominal_coverage_on_fresh_data():
    rng = np.random.default_rng(1)
    point = rng.gamma(3, 30, 20000)
    train_y, test_y = point * rng.lognormal(0, 0.3, point.size), point * rng.lognormal(0, 0.3, point.size)
    offset = calibration.offsets(train_y, dict.fromkeys(QUANTILES, point))
    band = calibration.apply(dict.fromkeys(QUANTILES, point), offset)
    assert 0.77 <= calibration.coverage(test_y, band[0.1], band[0.9]) <= 0.83
    assert (band[0.1] <= band[0.5]).all() and (band[0.5] <= band[0.9]).all()


def test_a_known_closed_day_is_forecast_closed_by_every_candidate():
    recs = records(days=98)
    for r in recs:  # day 95 of 98 (inside the newest window) is a known closure, as 25 December would be
        r["dynamic_feat"][CLOSED_ROW][95] = 1.0
    ev = evaluate(
        recs, 7, 3, CUTOFF, ["A"] * 4, {DEEPAR: truth_times(recs, 7, 3, 1.3), "last_week": truth_times(recs, 7, 3, 1.0)}
    )
    for name, forecast in ev.backtest.forecasts.items():
        assert (forecast["mean"][2][:, 4] == 0).all(), name  # window 2, day 4 = series day 95
        assert (ev.bands[name][0.9][2][:, 4] == 0).all(), name
        assert (forecast["mean"][2][:, [0, 1, 2, 3, 5, 6]] > 0).all(), name


def test_problems_hold_out_each_window_and_see_its_features_known_ahead():
    recs = records(days=98)
    inference = [dict(r, dynamic_feat=[row + [1.0] * 7 for row in r["dynamic_feat"]]) for r in recs]
    problems = problems_from_records(recs, inference, 7, 3, CUTOFF)
    assert [p.history.shape[1] for p in problems] == [77, 84, 91, 98]
    assert [p.features.shape[2] for p in problems] == [84, 91, 98, 105]
    assert problems[-1].origin == CUTOFF and problems[0].origin == CUTOFF - pd.Timedelta(days=21)
    assert (problems[-1].features[:, :, -7:] == 1.0).all()  # the publishing problem sees the inference horizon


def test_challengers_forecast_every_series_and_the_global_model_follows_promotions():
    recs = records(n_series=6, days=420, seed=2)
    for r in recs:  # promotions lift sales 60 % on the days they run
        promo = (np.arange(420) % 9 == 0).astype(float)
        r["target"] = (np.asarray(r["target"]) * (1 + 0.6 * promo)).round(1).tolist()
        r["dynamic_feat"][DYNAMIC_FEATURES.index("log1p_onpromotion")] = list(np.log1p(promo * 3))
    end = CUTOFF + pd.Timedelta(days=420 - 98)
    problems = problems_from_records(recs, None, 7, 2, end)
    for name in (
        "last_week",
        "mean_last_4_weekdays",
        "croston",
        "mfles",
        "lightgbm",
        "lightgbm_direct",
        "mstl",
        "autoets",
        "ets",
    ):
        out = challenger(name).forecast_all(problems)
        assert len(out) == 2 and all(o.shape == (6, 7) and np.isfinite(o).all() and (o >= 0).all() for o in out), name
    promoted = list(problems_from_records(recs, None, 7, 2, end))
    promoted[1].features = promoted[1].features.copy()
    promoted[1].features[:, DYNAMIC_FEATURES.index("log1p_onpromotion"), -7:] = np.log1p(3)
    for name in ("lightgbm", "lightgbm_direct"):
        base, lifted = challenger(name).forecast_all(problems)[1], challenger(name).forecast_all(promoted)[1]
        assert lifted.sum() > base.sum() * 1.1, name


def test_the_direct_model_says_how_much_history_it_needs():
    recs = records(n_series=3, days=70)
    with pytest.raises(ValueError, match="needs at least 63 days before the first window; the history has 49"):
        challenger("lightgbm_direct").forecast_all(problems_from_records(recs, None, 7, 3, CUTOFF))


def test_the_ensemble_is_a_candidate_and_its_choice_is_scored_nested():
    recs = records(n_series=4)
    high, low = truth_times(recs, 7, 3, 1.3), truth_times(recs, 7, 3, 1 / 1.3)
    ev = evaluate(recs, 7, 3, CUTOFF, ["A", "A", "B", "B"], {DEEPAR: high, "lightgbm": low, "last_week": low})
    # the log1p mean of a forecast 30 % high and one 30 % low is close to the truth, and wins every family
    assert ENSEMBLE in ev.scores and set(ev.champions.values()) == {ENSEMBLE}
    assert ev.scores[ENSEMBLE]["overall"]["rmsle"] < 0.02 < ev.scores[DEEPAR]["overall"]["rmsle"]
    assert ev.published["nested"]["overall"]["rmsle"] < 0.02
    only_one = evaluate(recs, 7, 3, CUTOFF, ["A", "A", "B", "B"], {DEEPAR: high, "last_week": low})
    assert ENSEMBLE not in only_one.scores  # a single member is no ensemble


def test_a_series_that_stopped_selling_is_forecast_zero_unless_it_sold_a_year_before():
    history = np.zeros((3, 400))
    history[:, :20] = 1.0  # sold in its first weeks, nothing since
    history[1, -364 + 3] = 5.0  # ... but series 1 sold in the same weeks a year before (a seasonal family)
    history[2, -10] = np.nan  # a closed day is no sale either
    assert stopped_selling(history, 7).tolist() == [True, False, True]
    assert not stopped_selling(np.ones((1, 30)), 7).any()


def test_totals_add_up_and_their_band_is_not_the_sum_of_the_series_bands():
    rng = np.random.default_rng(4)
    k, n, h = 3, 12, 7
    mean = rng.gamma(4, 25, (k, n, h))
    actual = mean * rng.lognormal(0, 0.4, (k, n, h))  # independent errors: the total is relatively tighter
    stores, families = np.repeat([1, 2, 3], 4), np.tile(["A", "B", "C", "D"], 3)
    totals = hierarchy.backtest_totals(actual, mean, stores, families)
    assert set(totals) == {"total", "store", "family"} and set(totals["store"]["offsets"]) == {"1", "2", "3"}
    horizon = pd.date_range("2017-04-01", periods=h)
    frame = hierarchy.totals_frame(horizon, mean[0], stores, families, {lv: t["offsets"] for lv, t in totals.items()})
    total = frame[frame.level == "total"]
    assert np.allclose(total["mean"].to_numpy(), mean[0].sum(axis=0))
    by_store = frame[frame.level == "store"].groupby("date")["mean"].sum().to_numpy()
    assert np.allclose(by_store, total["mean"].to_numpy())
    series_offsets = calibration.offsets(actual.ravel(), {q: mean.ravel() for q in QUANTILES})
    series_band = calibration.apply(dict.fromkeys(QUANTILES, mean[0]), series_offsets)
    summed_width = (series_band[0.9] - series_band[0.1]).sum(axis=0)
    assert ((total["p90"] - total["p10"]).to_numpy() < 0.8 * summed_width).all()


def test_handing_evaluate_the_candidates_problems_changes_nothing():
    recs = records()
    inference = [dict(r, dynamic_feat=[row + [0.0] * 7 for row in r["dynamic_feat"]]) for r in recs]
    forecasts = {"last_week": truth_times(recs, 7, 3, 1.2), DEEPAR: truth_times(recs, 7, 3, 1.0)}
    alone = evaluate(recs, 7, 3, CUTOFF, ["A", "B", "A", "B"], forecasts)
    given = evaluate(
        recs,
        7,
        3,
        CUTOFF,
        ["A", "B", "A", "B"],
        forecasts,
        problems=problems_from_records(recs, inference, 7, 3, CUTOFF),
    )
    assert np.array_equal(alone.backtest.actual, given.backtest.actual)
    assert alone.scores == given.scores and alone.champions == given.champions
