"""A promotion what-if on AWS reads its scenario from the project's artifacts bucket (a task on ECS has no file of
its own to give): an s3:// URI there is read, one elsewhere is refused saying where to put it."""

from __future__ import annotations

from pathlib import Path

import pytest

from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.decisions.whatif import scenario_file
from favorita_assets.settings import Settings, build_resources

SCENARIO = b"store_nbr,family,start_date,end_date,onpromotion\nall,EGGS,2017-08-16,2017-08-18,5\n"


def test_an_s3_scenario_in_the_artifacts_bucket_is_read_and_one_elsewhere_is_refused(aws_stack):
    storage = build_resources(Settings.from_env(aws_stack))["storage"]
    storage.write_bytes("scenarios/inputs/eggs_promo.csv", SCENARIO)
    uri = storage.uri("scenarios/inputs/eggs_promo.csv")
    assert uri.startswith(f"s3://{storage.artifacts_bucket}/")
    with scenario_file(storage, uri) as local:
        assert Path(local).name == "eggs_promo.csv" and Path(local).read_bytes() == SCENARIO
    assert not Path(local).exists()  # the copy goes with the block
    elsewhere = "s3://someone-elses-bucket/scenarios/inputs/eggs_promo.csv"
    with (
        pytest.raises(FavoritaDataError, match="not an object in the project's buckets") as outside,
        scenario_file(storage, elsewhere),
    ):
        pass
    assert storage.uri("scenarios/inputs/") in str(outside.value)
    with (
        pytest.raises(FavoritaDataError, match="no such object"),
        scenario_file(storage, storage.uri("scenarios/inputs/missing.csv")),
    ):
        pass
    with scenario_file(storage, "/tmp/a_local_file.csv") as local:  # a local path is passed through
        assert local == "/tmp/a_local_file.csv"
