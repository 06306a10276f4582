"""Planners' overrides: the file's refusals, the adjusted band and totals, the units each rule changed."""

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core import overrides
from favorita_assets.core.errors import FavoritaDataError

HORIZON = pd.date_range("2017-08-16", periods=16, freq="D")
HEADER = "store_nbr,family,start,end,multiplier,quantity,closed,reason,planner"
GOOD = "2,BOOKS,2017-08-16,2017-08-16,1.1,,,fair,ana"


def read(tmp_path, text):
    path = tmp_path / "overrides.csv"
    path.write_text(text)
    return overrides.read_overrides(path, {1, 2}, {"DAIRY", "BOOKS"}, HORIZON)


@pytest.mark.parametrize(
    "body, problem, column, value",
    [
        (
            "9,DAIRY,2017-08-18,2017-08-20,1.2,,,x,ana",
            "unknown store: the forecasts hold no such store",
            "store_nbr",
            "9",
        ),
        (
            "1,TOYS,2017-08-18,2017-08-20,1.2,,,x,ana",
            "unknown family: the forecasts hold no such family",
            "family",
            "TOYS",
        ),
        (
            "1,DAIRY,2017-08-10,2017-08-20,1.2,,,x,ana",
            "a date is outside the forecast horizon 2017-08-16 .. 2017-08-31",
            "start",
            "2017-08-10",
        ),
        ("1,DAIRY,2017-08-20,2017-08-18,1.2,,,x,ana", "start is after end", "start, end", "2017-08-20, 2017-08-18"),
        (
            "1,DAIRY,2017-08-18,2017-08-20,1.2,40,,x,ana",
            "a rule must set exactly one of multiplier, quantity or closed",
            "multiplier, quantity, closed",
            "1.2, 40, ",
        ),
        (
            "1,DAIRY,2017-08-18,2017-08-20,,,,x,ana",
            "a rule must set exactly one of multiplier, quantity or closed",
            "multiplier, quantity, closed",
            ", , ",
        ),
        ("1,DAIRY,2017-08-18,2017-08-20,-1,,,x,ana", "a multiplier must be a number above 0", "multiplier", "-1"),
        ("1,DAIRY,2017-08-18,2017-08-20,,lots,,x,ana", "a quantity must be a number, 0 or more", "quantity", "lots"),
        ("1,DAIRY,2017-08-18,2017-08-20,,,maybe,x,ana", "closed is neither empty nor true", "closed", "maybe"),
        ("1,DAIRY,2017-08-18,2017-08-20,1.2,,,,ana", "the reason is empty", "reason", ""),
        ("1,DAIRY,2017-08-18,2017-08-20,1.2,,,x,", "the planner is empty", "planner", ""),
    ],
)
def test_bad_overrides_are_refused_naming_column_value_and_line(tmp_path, body, problem, column, value):
    with pytest.raises(FavoritaDataError) as caught:
        read(tmp_path, f"{HEADER}\n{GOOD}\n{body}\n")
    error = caught.value
    assert (error.file, error.problem, error.column, str(error.value), error.rows) == (
        "overrides.csv",
        problem,
        column,
        value,
        [3],
    )


def test_overlapping_rules_and_a_file_without_rows_are_refused(tmp_path):
    with pytest.raises(FavoritaDataError) as caught:
        read(tmp_path, f"{HEADER}\n,DAIRY,2017-08-18,2017-08-20,1.2,,,a,ana\n2,,2017-08-20,2017-08-21,,5,,b,bo\n")
    assert caught.value.problem.startswith("two rules overlap") and caught.value.rows == [2, 3]
    assert caught.value.value == "2, DAIRY, 2017-08-20"
    with pytest.raises(FavoritaDataError, match="the file has a header but no rows"):
        read(tmp_path, f"{HEADER}\n")
    with pytest.raises(FavoritaDataError, match="a required column is missing") as caught:
        read(tmp_path, "store_nbr,family,start,end,multiplier\n1,DAIRY,2017-08-18,2017-08-20,1.2\n")
    assert caught.value.column == "quantity"


def forecasts(mean=10.0):
    pairs = [(1, "BOOKS"), (1, "DAIRY"), (2, "BOOKS"), (2, "DAIRY")]
    days = HORIZON[:4]
    rows = [
        {
            "date": d.date(),
            "store_nbr": s,
            "family": f,
            "days_ahead": i + 1,
            "store_closed": False,
            "mean": mean if s == 1 else 0.0,
            "p10": 0.5 * mean if s == 1 else 0.0,
            "p50": 0.9 * mean if s == 1 else 0.0,
            "p90": 1.6 * mean if s == 1 else 0.0,
            "model_version": "m",
        }
        for s, f in pairs
        for i, d in enumerate(days)
    ]
    return pd.DataFrame(rows)


def test_each_kind_moves_the_band_with_the_mean_and_keeps_the_statistical_values(tmp_path):
    rules = read(
        tmp_path,
        f"{HEADER}\n,DAIRY,2017-08-16,2017-08-17,1.2,,,promo at the competitor,ana\n"
        "1,BOOKS,2017-08-18,2017-08-18,,25,,author visit,bo\n"
        "2,BOOKS,2017-08-18,2017-08-18,,3,,new shelf,bo\n"
        "all,BOOKS,2017-08-19,2017-08-19,,,true,refurbishment,bo\n",
    )
    fc = forecasts()
    adjusted = overrides.adjust(fc, rules)
    assert list(adjusted.columns) == list(fc.columns) + overrides.ADJUSTED_EXTRA
    untouched = adjusted["override_line"] == 0
    pd.testing.assert_frame_equal(adjusted.loc[untouched, list(fc.columns)], fc[untouched])
    for c in overrides.BAND:  # the statistical values, untouched, beside the adjusted ones
        assert (adjusted[f"statistical_{c}"] == fc[c]).all()
    at = adjusted.set_index(["store_nbr", "family", "days_ahead"])
    dairy = at.loc[(1, "DAIRY", 1)]
    assert (dairy["mean"], dairy["p10"], dairy["p90"]) == pytest.approx((12.0, 6.0, 19.2))
    assert dairy["override_line"] == 2 and dairy["override"] == "x1.2"
    assert at.loc[(1, "DAIRY", 3), "mean"] == 10.0 and at.loc[(1, "DAIRY", 3), "override_line"] == 0
    books = at.loc[(1, "BOOKS", 3)]  # 25 units where 10 were forecast: the band scaled by 2.5
    assert (books["mean"], books["p10"], books["p90"]) == pytest.approx((25.0, 12.5, 40.0))
    zero = at.loc[(2, "BOOKS", 3)]  # a series forecast at 0 gets the quantity as a point
    assert (zero["mean"], zero["p10"], zero["p90"]) == (3.0, 3.0, 3.0)
    closed = adjusted[adjusted["override"] == "closed"]
    assert (
        len(closed) == 2 and (closed[["mean", "p10", "p50", "p90"]] == 0).all().all() and closed["store_closed"].all()
    )
    changed = overrides.units_changed(adjusted, rules).set_index("line")
    assert changed.loc[2, "units_changed"] == pytest.approx(4.0)  # 2 days x 10 units x 0.2 (store 2 forecasts 0)
    assert changed.loc[5, "units_changed"] == pytest.approx(-10.0)
    assert changed.loc[2, "series_days"] == 4


def test_adjusted_totals_add_up_and_equal_the_published_ones_without_rules(tmp_path):
    from favorita_assets.core import hierarchy

    fc = forecasts()
    zero = {"low": 0.0, "mid": 0.0, "high": 0.0}
    offsets = {
        "total": {"all": zero},
        "store": {"1": zero, "2": zero},
        "family": {"BOOKS": zero, "DAIRY": zero},
    }
    mean = fc.sort_values(["store_nbr", "family", "date"])["mean"].to_numpy().reshape(4, 4)
    published = hierarchy.totals_frame(
        HORIZON[:4], mean, np.array([1, 1, 2, 2]), np.array(["BOOKS", "DAIRY", "BOOKS", "DAIRY"]), offsets
    )
    pd.testing.assert_frame_equal(overrides.adjusted_totals(overrides.adjust(fc, None), offsets), published)
    rules = read(tmp_path, f"{HEADER}\n1,DAIRY,2017-08-16,2017-08-19,2,,,x,ana\n")
    totals = overrides.adjusted_totals(overrides.adjust(fc, rules), offsets)
    total = totals[totals["level"] == "total"]["mean"].to_numpy()
    assert total == pytest.approx([30.0] * 4)  # 10 + 20 from store 1, 0 from store 2
    family = totals[(totals["level"] == "family") & (totals["family"] == "DAIRY")]["mean"].to_numpy()
    assert family == pytest.approx([20.0] * 4)


def test_the_audit_entry_says_who_when_why_and_what_changed(tmp_path):
    rules = read(tmp_path, f"{HEADER}\n1,DAIRY,2017-08-16,2017-08-17,1.5,,,supplier promo,ana\n")
    adjusted = overrides.adjust(forecasts(), rules)
    entry = overrides.audit_entry(
        rules,
        overrides.units_changed(adjusted, rules),
        sha256="ab" * 32,
        file="overrides.csv",
        key="k",
        month="2017-08",
        landed_at="2026-12-03T22:00:00+00:00",
    )
    assert entry["planners"] == ["ana"] and entry["units_changed"] == 10.0
    (rule,) = entry["rules"]
    assert (rule["store_nbr"], rule["family"], rule["rule"], rule["reason"]) == (1, "DAIRY", "x1.5", "supplier promo")
    table = overrides.audit_table([entry])
    assert "| 2026-12-03T22:00:00+00:00 | abababababab | ana | 1 | DAIRY |" in table and "+10 |" in table
