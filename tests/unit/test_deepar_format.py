"""DeepAR JSON Lines: the channels built from cleaned series follow SageMaker's rules, and violations are caught."""

import json

import numpy as np
import pandas as pd
import pytest

from favorita_assets.core.deepar_format import (
    DYNAMIC_FEATURES,
    DeepARFormatError,
    build_channels,
    read_json_lines,
    suggest_likelihood,
    target_array,
    to_json_lines,
    validate_lines,
)
from favorita_assets.core.features import horizon_features

H = 3
STORES = pd.DataFrame(
    {
        "store_nbr": [1, 2],
        "city": ["Quito", "Cuenca"],
        "state": ["Pichincha", "Azuay"],
        "type": ["D", "B"],
        "cluster": [13, 6],
    }
)
HOLIDAYS = pd.DataFrame(
    [("2016-12-27", "Holiday", "Local", "Cuenca", "Fiesta", False)],
    columns=["date", "type", "locale", "locale_name", "description", "transferred"],
).assign(date=lambda f: pd.to_datetime(f["date"]))


def cleaned_frame():
    days = pd.date_range("2016-12-10", "2016-12-24", freq="D")
    rows = []
    for store, family, first in ((1, "EGGS", 0), (1, "DAIRY", 5), (2, "EGGS", 0)):
        for i, d in enumerate(days[first:]):
            rows.append(
                {
                    "date": d,
                    "store_nbr": store,
                    "family": family,
                    "sales": float(i + store),
                    "onpromotion": i % 3,
                    "store_closed": store == 2 and d in (pd.Timestamp("2016-12-20"), pd.Timestamp("2016-12-23")),
                    "is_holiday": False,
                    "is_event": False,
                    "is_payday": d.day == 15,
                    "store_type": STORES.set_index("store_nbr").loc[store, "type"],
                    "cluster": STORES.set_index("store_nbr").loc[store, "cluster"],
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def channels():
    cleaned = cleaned_frame()
    cutoff = pd.Timestamp("2016-12-24")
    horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=H, freq="D")
    plan = pd.DataFrame({"store_nbr": [1], "family": ["EGGS"], "date": [horizon[1]], "onpromotion": [4]})
    future = horizon_features(cleaned[["store_nbr", "family"]], horizon, STORES, HOLIDAYS, plan)
    return build_channels(cleaned, cutoff, H, future)


def test_lengths_follow_sagemaker_rules(channels):
    for train, test, inference in zip(channels.train, channels.test, channels.inference, strict=True):
        assert len(train["target"]) == len(test["target"]) - H
        assert all(len(f) == len(test["target"]) for f in test["dynamic_feat"])
        assert all(len(f) == len(inference["target"]) + H for f in inference["dynamic_feat"])
        assert len(inference["dynamic_feat"]) == len(DYNAMIC_FEATURES)
    for name in ("train", "test", "inference"):
        validate_lines(getattr(channels, name), name, H)


def test_start_cat_and_closed_days(channels):
    first = channels.test[0]
    assert first["start"] == "2016-12-15 00:00:00"  # (1, DAIRY) starts five days in; series sorted by store, family
    assert all(isinstance(c, int) for c in first["cat"]) and len(first["cat"]) == 4
    assert channels.encoding.cardinality == [2, 2, 2, 2]
    store2 = channels.test[2]
    assert store2["target"][10] == "NaN"  # 2016-12-20, store 2 closed: missing, not zero demand
    assert np.isnan(target_array(store2)[10])


def test_future_features_carry_the_plan_holidays_and_christmas(channels):
    eggs1 = channels.inference[1]  # (1, EGGS)
    n = len(eggs1["target"])
    promo = eggs1["dynamic_feat"][DYNAMIC_FEATURES.index("log1p_onpromotion")]
    assert promo[n:] == [0.0, round(float(np.log1p(4)), 4), 0.0]
    closed = eggs1["dynamic_feat"][DYNAMIC_FEATURES.index("store_closed")]
    assert closed[n:] == [1.0, 0.0, 0.0]  # 25 December
    cuenca = channels.inference[2]["dynamic_feat"][DYNAMIC_FEATURES.index("is_holiday")]
    assert (
        cuenca[n:] == [0.0, 0.0, 1.0] and eggs1["dynamic_feat"][DYNAMIC_FEATURES.index("is_holiday")][n:] == [0.0] * 3
    )


def test_held_out_days_do_not_leak_observed_closures(channels):
    store2 = channels.test[2]
    closed = store2["dynamic_feat"][DYNAMIC_FEATURES.index("store_closed")]
    assert closed[10] == 1.0  # 2016-12-20, before the held-out window: a known past closure
    assert store2["target"][13] == "NaN" and closed[13] == 0.0  # 2016-12-23, held out: not known at forecast time
    inference = channels.inference[2]["dynamic_feat"][DYNAMIC_FEATURES.index("store_closed")]
    assert inference[13] == 1.0  # for the real forecast it is history


def test_json_lines_roundtrip(channels):
    data = to_json_lines(channels.test)
    assert data.count(b"\n") == len(channels.test)
    assert list(read_json_lines(data)) == json.loads(json.dumps(channels.test))
    # orjson writes what the json module would, byte for byte (so data fingerprints do not depend on the writer)
    assert data == "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in channels.test).encode()


def test_a_broken_line_is_named(channels):
    lines = to_json_lines(channels.test[:2]).splitlines()
    data = b"\n".join([lines[0], b"", lines[1][:-5], b""])
    records = read_json_lines(data)
    assert next(records)["cat"] == channels.test[0]["cat"]  # records come one at a time, before the bad line
    with pytest.raises(DeepARFormatError, match="line 3: not valid JSON"):
        next(records)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.update(start="2016-12-10"), "start"),
        (lambda r: r.update(target=[1.0, "x"]), "target holds 'x'"),
        (lambda r: r.update(cat=[0, 1.5, 0, 0]), "cat"),
        (lambda r: r["dynamic_feat"][0].pop(), "dynamic_feat[0] has"),
        (lambda r: r["dynamic_feat"].pop(), "dynamic_feat series"),
        (lambda r: r["dynamic_feat"][1].__setitem__(0, float("nan")), "finite"),
    ],
)
def test_violations_are_named(channels, mutate, message):
    records = json.loads(json.dumps(channels.test))
    mutate(records[1])
    with pytest.raises(DeepARFormatError, match="record 2") as err:
        validate_lines(records, "test", H)
    assert message in str(err.value)


def test_inference_features_must_cover_the_horizon(channels):
    with pytest.raises(DeepARFormatError, match=r"len\(target\) \+ prediction_length"):
        validate_lines(channels.test, "inference", H)


def test_likelihood_suggestion_follows_the_share_of_small_counts():
    def record(values):
        return {"start": "2017-01-01 00:00:00", "target": values, "cat": [0], "dynamic_feat": []}

    large = [record([1200.0, 1500.0, "NaN", 1320.5] * 25)]  # transactions-like: far from zero
    assert suggest_likelihood(large) == ("student-T", 0.0)
    # 5 small counts among 100 observed days (closed days do not count): the count model
    mixed = large + [record([3.0, 0.0, 9.9, 1.0, 2.0] + [40.0] * 20)]
    likelihood, share = suggest_likelihood(mixed)
    assert likelihood == "negative-binomial" and share == pytest.approx(5 / 100)
    # 4 of 99: still far from zero
    assert suggest_likelihood(large + [record([3.0, 0.0, 9.9, 1.0] + [40.0] * 20)])[0] == "student-T"
    assert suggest_likelihood([]) == ("negative-binomial", 1.0)


def test_endpoint_requests_stay_under_the_6_mb_limit_on_full_length_series():
    import json

    from favorita_assets.core.deepar_format import endpoint_requests, to_json_lines

    rng = np.random.default_rng(0)
    days, h = 1688, 16  # Kaggle's history (2013-01-01 .. 2017-08-15) and horizon
    instances = [
        {
            "start": "2013-01-01 00:00:00",
            "target": np.round(rng.gamma(2, 800, days), 3).tolist(),
            "cat": [i % 54, i % 33, 1, 2],
            "dynamic_feat": np.round(rng.random((5, days + h)), 4).tolist(),
        }
        for i in range(200)
    ]
    assert len(json.dumps({"instances": instances})) > 6 * 1024 * 1024  # what one request of 200 used to send
    bodies = list(endpoint_requests(instances, {"num_samples": 100}, max_series=200))
    assert len(bodies) >= 2 and all(len(body) <= 5 * 1024 * 1024 for body, _ in bodies)
    decoded = [inst for body, n in bodies for inst in json.loads(body)["instances"]]
    assert sum(n for _, n in bodies) == 200 and to_json_lines(decoded) == to_json_lines(instances)  # all, in order
    assert all(json.loads(body)["configuration"] == {"num_samples": 100} for body, _ in bodies)
    with pytest.raises(ValueError, match="series 0 alone is .* over the endpoint's request limit"):
        list(endpoint_requests(instances[:1], {}, max_bytes=10_000))


def _generated(stores: int = 4, families: int = 5):
    from favorita_assets.core.cleaning import clean_series
    from favorita_assets.core.features import known_promotions, recurring_closures
    from favorita_assets.core.sample_data import generate

    tables = generate(n_stores=stores, n_families=families, start="2016-01-01", end="2017-03-31", seed=11)
    train = tables["train"].assign(
        date=lambda f: pd.to_datetime(f["date"].astype(str)), family=lambda f: f["family"].astype(str)
    )
    holidays = tables["holidays_events"].assign(date=lambda f: pd.to_datetime(f["date"]))
    oil = tables["oil"].assign(date=lambda f: pd.to_datetime(f["date"]))
    cleaned = clean_series(train, tables["stores"], oil, holidays)
    cutoff = pd.Timestamp("2017-03-31")
    horizon = pd.date_range(cutoff + pd.Timedelta(days=1), periods=16, freq="D")
    promotions, _ = known_promotions(None, cleaned, horizon)
    future = horizon_features(
        cleaned[["store_nbr", "family"]], horizon, tables["stores"], holidays, promotions, recurring_closures(cleaned)
    )
    return cleaned, cutoff, future


def test_streamed_channels_are_the_whole_table_channels_byte_for_byte(tmp_path):
    """write_channels (series by series to files, what the pipeline runs) against build_channels + to_json_lines
    (every record in memory): the same bytes, series and likelihood, from sorted categorical input and from the same
    rows shuffled with plain-string families."""
    import hashlib

    from favorita_assets.core.channels import ChannelDigests, file_chunks
    from favorita_assets.core.deepar_format import CHANNEL_COLUMNS, write_channels

    cleaned, cutoff, future = _generated()
    whole = build_channels(cleaned, cutoff, 16, future, backtest_windows=3)
    shuffled = cleaned[CHANNEL_COLUMNS].sample(frac=1.0, random_state=0).astype({"family": str, "store_type": str})
    for frame, folder in ((cleaned, tmp_path / "a"), (shuffled, tmp_path / "b")):
        files = write_channels(frame, cutoff, 16, future, folder, backtest_windows=3)
        for name in ("train", "test", "inference"):
            assert files.paths[name].read_bytes() == to_json_lines(getattr(whole, name)), name
            assert files.counts[name] == len(getattr(whole, name))
        assert files.series.equals(whole.series) and files.encoding == whole.encoding
        assert (files.likelihood, files.small_count_share) == suggest_likelihood(whole.train)
        assert files.horizon.equals(whole.horizon)
        digests = ChannelDigests()
        for name in ("train", "test", "inference"):
            digests.add(name, file_chunks(files.paths[name], chunk=4096))  # chunks smaller than a file
        lines = {name: to_json_lines(getattr(whole, name)) for name in ("train", "test", "inference")}
        assert digests.fingerprint == hashlib.sha256(lines["train"] + lines["test"]).hexdigest()
        assert digests.data_version == hashlib.sha256(b"\0".join(lines.values()) + b"\0").hexdigest()[:16]


def test_compact_records_give_back_the_exact_json(tmp_path):
    """What the evaluation and the forecasts hold (NumPy arrays) writes the very lines stored, and cuts for the
    backtest windows the way the lists are cut: SageMaker gets the same requests either way."""
    from favorita_assets.core.deepar_format import compact_record, window_instances

    cleaned, cutoff, future = _generated(stores=3, families=6)
    whole = build_channels(cleaned, cutoff, 16, future, backtest_windows=3)
    for name in ("train", "test", "inference"):
        records = getattr(whole, name)
        compact = [compact_record(r) for r in records]
        assert isinstance(compact[0]["target"], np.ndarray) and compact[0]["dynamic_feat"].dtype == np.float32
        assert to_json_lines(compact) == to_json_lines(records), name
    compact_test = [compact_record(r) for r in whole.test]
    assert to_json_lines(window_instances(compact_test, 16, 3)) == to_json_lines(window_instances(whole.test, 16, 3))


def test_a_series_younger_than_the_backtest_windows_gets_missing_days_before_it_began():
    import numpy as np

    from favorita_assets.core.deepar_format import compact_record, window_instances

    young = {"start": "2017-07-10 00:00:00", "target": [1.0] * 21, "cat": [0], "dynamic_feat": [[0.5] * 21]}
    for record in (young, compact_record(young)):
        instances = window_instances([record], 28, 3)
        for instance in instances:
            target = np.asarray(instance["target"], dtype=float)
            assert len(target) >= 1 and len(np.asarray(instance["dynamic_feat"])[0]) == len(target) + 28
            assert np.isnan(target).all()  # every window starts before the series began: nothing observed
        first = instances[0]
        # the instance starts so that its target ends where the first window begins (84 days before the end)
        days = (pd.Timestamp("2017-07-30") - pd.Timestamp(first["start"])).days + 1
        assert days - len(first["target"]) == 84


def test_without_a_promotion_plan_the_horizon_and_every_window_get_the_weekday_estimate(small_data_dir):
    import numpy as np

    from favorita_assets.core.channels import prepare_from_cleaned
    from favorita_assets.core.cleaning import clean_tables
    from favorita_assets.core.deepar_format import PROMO_ROW, build_channels
    from favorita_assets.core.features import weekday_promotions
    from favorita_assets.core.schema import read_kaggle_csv

    tables = {n: read_kaggle_csv(small_data_dir / f"{n}.csv", n) for n in ("train", "stores", "oil", "holidays_events")}
    cleaned = clean_tables(tables)
    cutoff, h, k = cleaned["date"].max(), 7, 2
    history, inputs = prepare_from_cleaned(cleaned, None, tables["stores"], tables["holidays_events"], cutoff, h, k)
    assert inputs.plan.unknown_promotions == tuple(range(h)) and inputs.promotions_source.startswith("estimated")
    channels = build_channels(history, cutoff, h, inputs.horizon_features, k, inputs.plan.unknown_promotions)
    one = history[
        (history["store_nbr"] == channels.series["store_nbr"][0])
        & (history["family"].astype(str) == channels.series["family"][0])
    ]
    counts = one["onpromotion"].to_numpy(dtype=float)
    assert counts[-k * h :].any()  # the series was promoted in the windows: the estimate replaces that
    test_promo = np.asarray(channels.test[0]["dynamic_feat"][PROMO_ROW])
    for end in (len(counts) - 2 * h, len(counts) - h):
        assert np.allclose(test_promo[end : end + h], np.log1p(weekday_promotions(counts[:end], h)), atol=1e-4)
    future = np.asarray(channels.inference[0]["dynamic_feat"][PROMO_ROW])[-h:]
    assert np.allclose(future, np.log1p(weekday_promotions(counts, h)), atol=1e-4)
