"""The genuine Kaggle files (stores, oil, holidays, test, transactions, the head of train) through the pipeline.

They sit in ../shared/favorita in this project's workplace (or FAVORITA_REAL_DATA_DIR); the tests skip elsewhere.
train.csv itself is not redistributable, so real transactions, shaped as a one-family train.csv, stand in for it.
"""

import shutil

import pandas as pd
import pytest

from favorita_assets.core.sample_data import transactions_as_train
from favorita_assets.core.schema import KAGGLE_FILES, read_kaggle_csv
from favorita_assets.pipeline import run_config, run_pipeline
from favorita_assets.resources.cleaned_series import read_cleaned_series
from favorita_assets.resources.storage import LocalStorage


def test_every_real_file_matches_the_schema(real_data_dir):
    for name, spec in KAGGLE_FILES.items():
        filename = "train_head_first1000.csv" if name == "train" else spec.filename
        frame = read_kaggle_csv(real_data_dir / filename, name)
        assert list(frame.columns) == list(spec.columns)
    head = read_kaggle_csv(real_data_dir / "train_head_first1000.csv", "train")
    assert len(head) == 1000 and "LIQUOR,WINE,BEER" in set(head.family)


@pytest.fixture(scope="module")
def real_run(real_data_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("real")
    for name in ("stores", "oil", "holidays_events", "test", "transactions"):
        shutil.copy(real_data_dir / f"{name}.csv", data / f"{name}.csv")
    train = transactions_as_train(read_kaggle_csv(real_data_dir / "transactions.csv", "transactions"))
    train.assign(date=train.date.dt.strftime("%Y-%m-%d")).to_csv(data / "train.csv", index=False)
    from favorita_assets.settings import Settings

    settings = Settings(deployment="local", data_dir=data, storage_dir=tmp_path_factory.mktemp("real_storage"))
    report = run_pipeline(settings, config=run_config(epochs=2, num_cells=8, mini_batch_size=16))
    return report, read_cleaned_series(LocalStorage(root=str(settings.storage_dir))) if report.success else None


def test_real_tables_go_through_etl(real_run):
    report, cleaned = real_run
    assert report.success, report.failures
    assert report.materialized["raw_test"]["rows"] == 28_512
    assert cleaned.store_nbr.nunique() == 54 and cleaned.date.max() == pd.Timestamp("2017-07-30")
    hard_failures = [c for c in report.failed_checks if c.severity != "WARN"]
    assert not hard_failures


def test_transactions_train_with_the_student_t_likelihood(real_run):
    """likelihood "auto": the real transactions sit far from zero, so DeepAR models them with student-T."""
    report, _ = real_run
    assert report.materialized["deepar_training_data"]["likelihood_auto"] == "student-T"
    assert report.materialized["deepar_training_data"]["small_count_share"] == 0.0
    assert report.materialized["deepar_model"]["hyperparameters"]["likelihood"] == "student-T"


def test_real_holidays_are_resolved_per_store(real_run):
    _, cleaned = real_run

    def at(store, day):
        return cleaned[(cleaned.store_nbr == store) & (cleaned.date == pd.Timestamp(day))].iloc[0]

    # Independencia de Guayaquil 2013-10-09 was transferred to 2013-10-11.
    assert not at(1, "2013-10-09").holiday_national and at(1, "2013-10-11").holiday_national
    # Fundacion de Quito (local, 2013-12-06): Quito's store 1, not Guayaquil's store 24.
    assert at(1, "2013-12-06").holiday_local and not at(24, "2013-12-06").holiday_local
    # Real oil has gaps (weekends, holidays): every day gets a price.
    assert cleaned.dcoilwtico.notna().all()
    # Christmas is absent from the real data: filled, flagged missing and closed.
    christmas = cleaned[cleaned.date == pd.Timestamp("2016-12-25")]
    assert christmas.is_missing_row.all() and christmas.store_closed.all() and (christmas.sales == 0).all()


def test_stores_opening_late_start_late(real_run, real_data_dir):
    _, cleaned = real_run
    raw = pd.read_csv(real_data_dir / "transactions.csv", parse_dates=["date"])
    first = raw.groupby("store_nbr").date.min()
    starts = cleaned.groupby("store_nbr").date.min()
    assert (starts == first.loc[starts.index]).all()
    assert first.max() > pd.Timestamp("2014-01-01")  # some real stores opened years into the history
