"""cleaned_series' plain parts (favorita_assets/series/commit.py): the version, a reused outcome, why a version is
not committed, and what the materialization shows."""

from favorita_assets.core.cleaning import CLEANING_INPUTS
from favorita_assets.resources.etl import CleaningOutcome
from favorita_assets.series import commit

POINTERS = {t: {"sha256": f"{i:064x}", "key": f"raw/{t}/x.csv"} for i, t in enumerate(CLEANING_INPUTS)}
STATS = {"series": 12, "rows": 5_000, "missing_rows_filled": 3, "store_closed_rows": 40, "first_date": "2016-06-01"}


def test_the_version_follows_the_inputs_and_the_code():
    version = commit.cleaned_version(POINTERS, "3")
    assert len(version) == 16 and commit.cleaned_version(POINTERS, "3") == version
    assert commit.cleaned_version(POINTERS, "4") != version
    changed = {**POINTERS, CLEANING_INPUTS[0]: {"sha256": "f" * 64}}
    assert commit.cleaned_version(changed, "3") != version


def test_a_committed_version_is_reused_as_it_was():
    committed = {"parts": ["p/0.parquet"], "stats": STATS, "engine": "pandas", "reconciliation": {"passed": True}}
    outcome = commit.reused(committed)
    assert (outcome.parts, outcome.stats, outcome.engine, outcome.metadata) == (
        ["p/0.parquet"],
        STATS,
        "pandas",
        {"reused": True},
    )


def test_why_a_version_is_not_committed():
    assert commit.sales_lost({"passed": True}) is None
    lost = commit.sales_lost({"passed": False, "input_total_sales": 1000.0, "output_total_sales": 999.5})
    assert lost == "total sales changed in cleaning (1,000.000 in, 999.500 out)"
    assert (
        commit.rules_broken("abc", {"duplicate_rows": 2, "gaps": 1})
        == "version abc breaks duplicate_rows (2), gaps (1)"
    )


def test_the_log_line_and_the_metadata():
    outcome = CleaningOutcome(parts=["a", "b"], stats=STATS, engine="spark", reconciliation={}, metadata={"job": "j"})
    assert commit.cleaned_line(outcome, 1.234) == (
        "cleaned 12 series into 5,000 rows in 1.2s with spark (3 missing rows and 40 closed store-days filled)"
    )
    meta = commit.cleaned_metadata(outcome, 1.234, "v", "s3://b/p", POINTERS)
    assert meta["seconds"] == 1.23 and meta["parts"] == 2 and meta["job"] == "j" and meta["rows"] == 5_000
    assert meta["input_sha256"] == {t: p["sha256"] for t, p in POINTERS.items()} and list(meta)[-1] == "job"
