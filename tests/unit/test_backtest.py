"""The backtest's plain parts (favorita_assets/modeling/backtest.py): candidates run and scored, the stored tables,
metrics.json, the quality gate, the two checks and the Markdown of forecast_evaluation."""

import json

import numpy as np
import pandas as pd
import pytest

from favorita_assets import storage_keys as keys
from favorita_assets.core.candidates import check_candidates
from favorita_assets.core.deepar_format import DYNAMIC_FEATURES
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.core.evaluation import DEEPAR, QUANTILES, history_matrix
from favorita_assets.modeling import backtest as bt

CUTOFF = pd.Timestamp("2017-03-31")
H, K, DAYS = 7, 2, 90


def records(n_series=4, extra=0, seed=0):
    rng = np.random.default_rng(seed)
    weekly = np.tile([10, 10, 10, 10, 12, 20, 25], DAYS // 7 + 1)[:DAYS]
    return [
        {
            "start": f"{CUTOFF - pd.Timedelta(days=DAYS - 1):%Y-%m-%d} 00:00:00",
            "target": (weekly * (s + 1) * rng.lognormal(0, 0.15, DAYS)).round(1).tolist(),
            "cat": [s, s % 2, 0, 0],
            "dynamic_feat": [[0.0] * (DAYS + extra) for _ in DYNAMIC_FEATURES],
        }
        for s in range(n_series)
    ]


MANIFEST = {
    "cutoff": f"{CUTOFF:%Y-%m-%d}",
    "prediction_length": H,
    "backtest_windows": K,
    "horizon": [f"{d:%Y-%m-%d}" for d in pd.date_range(CUTOFF + pd.Timedelta(days=1), periods=H)],
    "series": {"store_nbr": [1, 1, 2, 2], "family": ["A", "B", "A", "B"]},
    "fingerprint": "f" * 40,
}


def predictor(factor):
    """DeepAR's predictions for the window instances: the truth times ``factor``, bands around it."""

    def predict(instances):
        test = records()
        y = history_matrix(test, DAYS)
        out = []
        for w in range(K):
            start = DAYS - (K - w) * H
            for row in y[:, start : start + H] * factor:
                out.append({"mean": row, **{q: row * (0.5 + q) for q in QUANTILES}})
        assert len(instances) == len(out)
        return out

    return predict


def run(factor=1.0, candidates=("last_week", "mean_last_4_weekdays"), predict=None):
    said = []
    done = bt.run_backtest(
        MANIFEST,
        records(),
        records(extra=H),
        predict or predictor(factor),
        list(candidates),
        0,
        said.append,
        said.append,
    )
    return done, said


def test_every_candidate_runs_and_the_published_mix_is_scored():
    done, said = run()
    assert set(done.runs.forecasts) == {DEEPAR, "last_week", "mean_last_4_weekdays"} and not done.runs.failed
    assert done.evaluation.scores[DEEPAR]["overall"]["rmsle"] == pytest.approx(0.0)
    assert set(done.runs.future) == {"last_week", "mean_last_4_weekdays"}  # DeepAR forecasts the horizon elsewhere
    assert {s.split(":")[0] for s in said} == {"last_week", "mean_last_4_weekdays"}
    tables = bt.stored_tables(done, MANIFEST, "2017-03")
    backtest, horizon = tables[keys.evaluation_backtest("2017-03")], tables[keys.evaluation_horizon("2017-03")]
    assert len(backtest) == K * 4 * H and set(backtest["window"]) == {1, 2}
    assert {"actual", "deepar_mean", "deepar_p10", "published_mean", "published_p90", "published_model"} <= set(
        backtest.columns
    )
    assert (backtest["published_model"] == DEEPAR).all()  # the perfect model wins every family
    assert len(horizon) == 4 * H and list(horizon.columns[3:]) == ["last_week_mean", "mean_last_4_weekdays_mean"]


def test_a_failing_candidate_is_left_out_saying_why_and_all_failing_is_an_error():
    def broken(instances):
        raise RuntimeError("the endpoint is down")

    done, said = run(predict=broken)
    assert done.runs.failed == {DEEPAR: "RuntimeError: the endpoint is down"} and DEEPAR not in done.runs.forecasts
    assert any("DeepAR produced no backtest forecasts" in s for s in said)
    with pytest.raises(RuntimeError, match="every candidate failed"):
        run(predict=broken, candidates=())


def test_the_verdict_the_gate_and_the_checks_when_deepar_wins_and_when_it_loses():
    won, _ = run(factor=1.0)
    verdict = bt.Verdict.of(won.evaluation)
    assert verdict.deepar_won and verdict.margin > 0 and verdict.best in ("last_week", "mean_last_4_weekdays")
    gate = verdict.gate_text(K, ["2017-03-18", "2017-03-31"])
    assert gate.startswith("DeepAR mean RMSLE 0.0000 vs ") and "over 2 backtest windows 2017-03-18..2017-03-31" in gate
    beats, coverage = bt.evaluation_checks(verdict, {}, won.evaluation.published)
    assert (beats.name, beats.passed, beats.description) == ("deepar_beats_baselines", True, None)
    assert coverage.name == "published_coverage" and "expected 70%-90%" in coverage.description
    assert set(coverage.metadata) == {"coverage", "window_1_coverage", "window_2_coverage"}

    lost, _ = run(factor=3.0)
    verdict = bt.Verdict.of(lost.evaluation)
    assert not verdict.deepar_won and verdict.margin < 0
    beats, _ = bt.evaluation_checks(verdict, {}, lost.evaluation.published)
    assert not beats.passed and beats.description.startswith("DeepAR lost the backtest: mean RMSLE")
    subject, body = verdict.gate_alert("2017-03", "the verdict", "deepar-2017-03-abc", "http://ui/runs/1")
    assert subject == "Favorita 2017-03: DeepAR lost its backtest"
    assert (
        body.startswith("the verdict.\nModel deepar-2017-03-abc was not approved") and "Run: http://ui/runs/1" in body
    )
    beats, _ = bt.evaluation_checks(verdict, {DEEPAR: "RuntimeError: down"}, lost.evaluation.published)
    assert beats.description == "DeepAR failed: RuntimeError: down"


def test_the_summary_is_json_and_the_metadata_tables_have_a_row_per_candidate_window_and_family():
    done, _ = run()
    verdict = bt.Verdict.of(done.evaluation)
    model = {"version": "deepar-2017-03-abc"}
    summary = bt.evaluation_summary("2017-03", MANIFEST, model, 0, done.evaluation, done.runs, verdict, done.totals)
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary
    assert summary["windows"] == [["2017-03-18", "2017-03-24"], ["2017-03-25", "2017-03-31"]]
    assert summary["versions"] == {
        DEEPAR: "deepar-2017-03-abc",
        "last_week": "baseline-last_week-2017-03",
        "mean_last_4_weekdays": "baseline-mean_last_4_weekdays-2017-03",
    }
    plain, markdown = bt.evaluation_metadata(done.evaluation, verdict, summary)
    assert plain["deepar_rmsle"] == 0.0 and plain["champion"] == "deepar (2 families)"
    assert markdown["scores"].startswith("Mean over 2 backtest windows, 2017-03-18 .. 2017-03-31")
    assert len(markdown["scores"].splitlines()) == 4 + 3 + 1  # title, blank, header, rule; 3 candidates; the mix
    assert len(markdown["windows"].splitlines()) == 2 + K
    assert markdown["champions_by_family"].splitlines()[2:] == ["| A | deepar | 0.0000 |", "| B | deepar | 0.0000 |"]


def test_jsonable_rounds_floats_and_writes_what_json_cannot_hold_as_null():
    value = {1: [np.float64(0.1234567891), np.int64(3), float("nan")], "t": (np.float32(np.inf), "x")}
    assert bt.jsonable(value) == {"1": [0.123457, 3, None], "t": [None, "x"]}
    assert bt.challenger_version("lightgbm", "2017-03", "abcdef0123456789") == "lightgbm-2017-03-abcdef0123"


def test_a_config_without_a_seasonal_naive_baseline_or_with_an_unknown_name_is_refused_naming_the_setting():
    check_candidates(["last_week", "lightgbm"])  # one baseline is enough
    with pytest.raises(FavoritaDataError) as refused:
        check_candidates(["lightgbm"])
    text = str(refused.value)
    assert "candidates" in text and "leaves out both seasonal naive baselines" in text
    assert "what to do: add last_week or mean_last_4_weekdays" in text and "['last_week', 'lightgbm']" in text
    with pytest.raises(FavoritaDataError, match="'prophet' is not a challenger"):
        check_candidates(["last_week", "prophet"])


def test_without_a_baseline_the_check_says_so_instead_of_failing():
    done, _ = run(factor=3.0, candidates=())  # DeepAR alone
    verdict = bt.Verdict.of(done.evaluation)
    assert verdict.best is None and verdict.gate_text(K, ["2017-03-18", "2017-03-31"]) is None
    beats, _ = bt.evaluation_checks(verdict, {}, done.evaluation.published)
    assert not beats.passed and beats.description.startswith("no seasonal naive baseline was scored")


def test_the_published_mean_bias_is_the_means_total_against_what_sold_and_warns_beyond_the_tolerance():
    done, _ = run(factor=1.0)
    evaluation = done.evaluation
    check = bt.bias_check(evaluation)
    assert check.name == "published_mean_bias" and check.passed and check.metadata["ratio"] == pytest.approx(1.0)
    assert len(bt.mean_bias(evaluation)["windows"]) == K
    for name in evaluation.backtest.forecasts:  # every candidate's mean runs 20 % low
        evaluation.backtest.forecasts[name]["mean"] = evaluation.backtest.forecasts[name]["mean"] * 0.8
    low = bt.bias_check(evaluation)
    assert not low.passed and low.metadata["ratio"] == pytest.approx(0.8, abs=0.01)
    assert low.description.startswith("the published mean summed to 80.0% of what sold over the backtest days")
    assert low.description.endswith("expected within 10% of 100%")


def test_the_mean_correction_is_each_familys_units_sold_over_units_forecast_on_the_backtest():
    from favorita_assets.publishing.published import corrected

    done, _ = run(factor=1.0)
    evaluation = done.evaluation
    for name in evaluation.backtest.forecasts:
        evaluation.backtest.forecasts[name]["mean"] = evaluation.backtest.forecasts[name]["mean"] * 0.8
    factors = bt.mean_correction(evaluation)
    assert factors and all(f == pytest.approx(1.25, abs=0.02) for f in factors.values())
    families = np.array(list(factors))
    means = np.ones((len(families), 3))
    assert corrected(means, families, factors) == pytest.approx(means * 1.25, abs=0.03)
    assert corrected(means, families, {}) is means  # off by default: the published means as they were


def test_the_challengers_partitions_and_their_rows_put_back_in_series_order():
    from favorita_assets.core.challengers import ChallengerRuns, forecast_rows, merge, partition_plan, runs_from_rows

    families = ["A", "B", "A", "B", "A"]
    plan = partition_plan(families, ["last_week", "lightgbm"], "family", series_per_task=2)
    assert [(p.label, p.candidates, p.rows.tolist()) for p in plan] == [
        ("series 1-2", ("last_week",), [0, 1]),
        ("series 3-4", ("last_week",), [2, 3]),
        ("series 5-5", ("last_week",), [4]),
        ("family A", ("lightgbm",), [0, 2, 4]),
        ("family B", ("lightgbm",), [1, 3]),
    ]
    assert [p.rows.tolist() for p in partition_plan(families, ["lightgbm"], "chain")] == [[0, 1, 2, 3, 4]]
    with pytest.raises(ValueError, match="global_models_by='store'"):
        partition_plan(families, ["lightgbm"], "store")
    # each partition's (k + 1, n_rows, h) forecasts: series i forecasts i everywhere, so misplaced rows show
    parts = [
        (p.rows, ChallengerRuns({"lightgbm": [np.repeat(p.rows[:, None], 3, axis=1).astype(float)] * 2}))
        for p in plan[3:]
    ]
    merged = merge(5, parts)
    assert np.array_equal(merged.forecasts["lightgbm"][1][:, 0], np.arange(5))
    rows = pd.concat([forecast_rows(r, runs) for r, runs in parts], ignore_index=True)
    back = runs_from_rows(rows.drop(columns="mean"), np.stack(rows["mean"].to_list()), 5, {}, {"lightgbm": 2.0})
    assert np.array_equal(back.forecasts["lightgbm"][1], merged.forecasts["lightgbm"][1])
    with pytest.raises(ValueError, match="lightgbm hold 6 rows, expected one per series and window"):
        runs_from_rows(rows.drop(columns="mean").iloc[:6], np.stack(rows["mean"].to_list())[:6], 5, {}, {})
    # a candidate that fails in one partition fails as a whole, saying where
    failed = merge(5, [parts[0], (parts[1][0], ChallengerRuns(failed={"lightgbm": "ValueError (family B): x"}))])
    assert failed.forecasts == {} and failed.failed == {"lightgbm": "ValueError (family B): x"}


def test_a_what_if_refits_a_global_challenger_as_the_evaluation_split_it():
    from favorita_assets.core.candidates import challenger
    from favorita_assets.core.challengers import subset
    from favorita_assets.core.evaluation import problems_from_records
    from favorita_assets.decisions.whatif import refit

    problems = problems_from_records(records(), records(extra=H), H, K, CUTOFF)
    three = [problems[0], problems[K], problems[K]]
    families, rows = np.array(["A", "B", "A", "B"]), np.array([2])
    by_family = refit("lightgbm", three, families, rows, {"seed": 0, "global_models_by": "family"})
    alone = challenger("lightgbm").forecast_all(subset(three, np.array([0, 2])))
    np.testing.assert_array_equal(by_family[1], alone[1][[1]])  # family A's model, not one over the chain
