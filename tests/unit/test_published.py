"""The published forecasts and totals from the backtest's choices (favorita_assets/publishing/published.py)."""

import numpy as np
import pytest
from test_backtest import MANIFEST, H, records, run

from favorita_assets import storage_keys as keys
from favorita_assets.core.evaluation import DEEPAR, QUANTILES
from favorita_assets.modeling import backtest as bt
from favorita_assets.publishing import published


def summary_of(factor):
    done, _ = run(factor=factor)
    verdict = bt.Verdict.of(done.evaluation)
    model = {"version": "deepar-2017-03-abc"}
    summary = bt.evaluation_summary("2017-03", MANIFEST, model, 0, done.evaluation, done.runs, verdict, done.totals)
    horizon = bt.stored_tables(done, MANIFEST, "2017-03")[keys.evaluation_horizon("2017-03")]
    return summary, horizon


def deepar(calls):
    def predict():
        calls.append(1)
        return [{"mean": np.full(H, 50.0), **{q: np.full(H, 50.0 * (0.5 + q)) for q in QUANTILES}} for _ in range(4)]

    return predict


def test_deepar_champion_is_published_with_its_band_and_the_totals_add_up():
    summary, horizon = summary_of(1.0)
    assert set(summary["champions"].values()) == {DEEPAR}
    calls = []
    frame, totals, closed = published.publish_forecasts(
        MANIFEST, summary, records(extra=H), deepar(calls), lambda: horizon
    )
    assert calls == [1] and len(frame) == 4 * H and closed.shape == (4, H) and not closed.any()
    assert (frame["model_version"] == "deepar-2017-03-abc").all()
    assert frame["mean"].to_numpy() == pytest.approx(50.0)
    assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
    total = totals[totals["level"] == "total"]
    assert total["mean"].to_numpy() == pytest.approx(200.0)
    plain, table = published.forecasts_metadata(frame, totals, closed, summary, MANIFEST)
    assert plain["rows"] == 28 and plain["model_version"] == "deepar-2017-03-abc (4 series)"
    assert plain["total_units_forecast"] == pytest.approx(1400.0) and plain["known_closed_series_days"] == 0
    assert plain["horizon"] == f"{MANIFEST['horizon'][0]} .. {MANIFEST['horizon'][-1]}"
    assert len(table.splitlines()) == 2 + H and table.splitlines()[0] == "| date | all stores, mean | P10 | P90 |"
    assert table.splitlines()[2].startswith(f"| {MANIFEST['horizon'][0]} | 200 |")


def test_a_challenger_champion_needs_no_deepar_prediction():
    summary, horizon = summary_of(3.0)  # DeepAR three times the truth: a baseline wins every family
    assert DEEPAR not in summary["champions"].values()
    calls = []
    frame, _, _ = published.publish_forecasts(MANIFEST, summary, records(extra=H), deepar(calls), lambda: horizon)
    assert calls == [] and frame["model_version"].str.startswith("baseline-").all()
    champion = summary["champions"]["A"]
    expected = horizon[f"{champion}_mean"].to_numpy().reshape(4, H)[0]
    assert frame["mean"].to_numpy()[:H] == pytest.approx(expected)
