"""Why this forecast: LightGBM's own contributions, grouped into drivers, in units that add up to its forecast."""

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core import drivers
from favorita_assets.core.deepar_format import DYNAMIC_FEATURES, PROMO_ROW
from favorita_assets.core.evaluation import problems_from_records

H, K, CUTOFF = 14, 2, pd.Timestamp("2017-06-30")


def records(extra=0, n=20, days=420, seed=0):
    """Weekly-patterned sales that triple on promotion days (one day in five, at random)."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(n):
        promo = (rng.random(days + extra) < 0.2).astype(float)
        weekly = np.tile([10, 10, 10, 10, 12, 20, 25], days // 7 + 2)[:days]
        y = weekly * (1 + s % 5) * np.where(promo[:days] > 0, 3.0, 1.0) * rng.lognormal(0, 0.1, days)
        feats = [[0.0] * (days + extra) for _ in DYNAMIC_FEATURES]
        feats[PROMO_ROW] = np.log1p(promo * 5).tolist()
        start = str((CUTOFF - pd.Timedelta(days=days - 1)).date())
        out.append({"start": start, "target": y.round(1).tolist(), "cat": [s % 4, s % 5, 0, 0], "dynamic_feat": feats})
    return out


@pytest.fixture(scope="module")
def explained():
    problems = problems_from_records(records(), records(extra=H), H, K, CUTOFF)
    return problems, drivers.explain(problems, seed=0, threads=1)


def test_the_baseline_and_the_drivers_add_up_to_lightgbms_forecast(explained):
    problems, out = explained
    assert len(out) == 20 * H and list(out.columns[:4]) == ["series", "date", "forecast", "baseline"]
    added = out["baseline"] + out[list(drivers.DRIVERS)].sum(axis=1)
    np.testing.assert_allclose(added, out["forecast"], rtol=1e-9, atol=1e-9)
    assert (out["date"].min(), out["date"].max()) == (problems[-1].future_dates[0], problems[-1].future_dates[-1])


def test_promotion_days_owe_their_extra_units_to_the_promotions_driver(explained):
    problems, out = explained
    promo = problems[-1].features[:, PROMO_ROW, -H:] > 0
    on = promo[out["series"], (out["date"] - problems[-1].future_dates[0]).dt.days]
    assert on.sum() > 20  # the data has promotion days in the horizon
    assert out.loc[on, "promotions"].min() > 0 > out.loc[~on, "promotions"].max()
    # No holiday, event or closure in this data: those drivers say nothing, their normal day is in the baseline.
    assert (out[["holidays and events", "closures"]] == 0).all().all()


def test_the_units_share_the_distance_from_the_baseline_in_proportion_to_the_log_contributions():
    log = np.array([[0.5, -0.25, 0.0], [0.0, 0.0, 0.0]])
    baseline, units, forecast = drivers.to_units(log, np.log1p(np.array([10.0, 10.0])))
    assert forecast[0] == pytest.approx(np.expm1(np.log1p(10) + 0.25))
    assert units[0, 0] == pytest.approx(-2 * units[0, 1]) and units[0, 2] == 0
    assert baseline[0] + units[0].sum() == pytest.approx(forecast[0])
    assert forecast[1] == pytest.approx(10.0) and not units[1].any()


def test_every_model_feature_has_a_driver_and_an_unknown_one_is_a_bug():
    for feature in ("lag1", "lag6", "rolling_mean_lag1_window_size28"):
        assert drivers.driver_of(feature) == "recent level"
    for feature in ("lag7", "lag28", "seasonal_rolling_mean_lag7_season_length7_window_size4", "dayofweek"):
        assert drivers.driver_of(feature) == "weekly pattern"
    assert drivers.driver_of("log1p_onpromotion") == "promotions"
    with pytest.raises(ValueError, match="'oil_price' has no driver"):
        drivers.driver_of("oil_price")


def test_the_stored_table_names_each_series_and_puts_the_published_mean_beside(explained):
    problems, out = explained
    series = pd.DataFrame({"store_nbr": np.arange(20) + 1, "family": [f"F{i % 5}" for i in range(20)]})
    dates = problems[-1].future_dates
    published = pd.DataFrame(
        {
            "date": np.tile(dates.date, 20),
            "store_nbr": np.repeat(series["store_nbr"], H),
            "family": np.repeat(series["family"], H),
            "mean": 7.0,
        }
    )
    table = drivers.drivers_table(out, series, published)
    assert list(table.columns) == drivers.TABLE_COLUMNS and len(table) == 20 * H
    assert (table["published_mean"] == 7.0).all() and table["days_ahead"].between(1, H).all()
    first = table[table["store_nbr"] == 1].sort_values("date")
    np.testing.assert_allclose(first["lightgbm"], out[out["series"] == 0]["forecast"])
    summary = drivers.horizon_summary(table)
    assert len(summary) == 20 and summary["published_mean"].iloc[0] == pytest.approx(7.0 * H)
    text = drivers.markdown(summary[["published_mean", "lightgbm", "baseline", *drivers.DRIVER_COLUMNS]].sum())
    assert "| promotions | +" in text and "| published forecast | 1,960 |" in text


def test_with_one_model_per_family_each_family_is_explained_by_its_own_model(explained):
    problems, whole = explained
    families = np.array([f"F{s % 2}" for s in range(20)])
    split = drivers.explain_as_evaluated(problems, families, seed=0, global_models_by="family")
    assert sorted(split["series"].unique()) == list(range(20)) and len(split) == 20 * H
    added = split["baseline"] + split[list(drivers.DRIVERS)].sum(axis=1)
    np.testing.assert_allclose(added, split["forecast"], rtol=1e-9, atol=1e-9)
    assert not np.allclose(split["forecast"], whole["forecast"])  # two models, not the chain's one
    chain = drivers.explain_as_evaluated(problems, families, seed=0, global_models_by="chain")
    pd.testing.assert_frame_equal(chain, whole)
