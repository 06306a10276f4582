"""Shared fixtures: small generated data sets (made once per session) and the genuine Kaggle files when present."""

import os
import shutil
from pathlib import Path

# Several pytest-xdist workers share the machine: each gets its share of the cores for the models' threads (LightGBM's
# OpenMP, statsforecast's processes, torch) and the BLAS, so two workers do not each spin a thread per core. Set
# before numpy, torch or LightGBM start their thread pools, and inherited by the CLI runs the tests start.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    from favorita_assets.core.cores import available_cores

    _share = str(max(1, available_cores({}) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _name in ("FAVORITA_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, _share)

import pytest  # noqa: E402

from favorita_assets.core.sample_data import write_sample_data  # noqa: E402
from favorita_assets.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# The genuine small Kaggle files sit beside the repository in this project's workplace; tests using them skip elsewhere.
REAL_DATA_DIR = Path(os.environ.get("FAVORITA_REAL_DATA_DIR", REPO.parent / "shared" / "favorita"))


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory) -> Path:
    """3 stores x 4 families over 14 months: small enough for a second-long pipeline run."""
    out = tmp_path_factory.mktemp("small_data")
    write_sample_data(out, n_stores=3, n_families=4, start="2016-06-01", end="2017-08-15", seed=7)
    return out


@pytest.fixture
def data_dir(small_data_dir, tmp_path) -> Path:
    """A private, writable copy of the small data set, for tests that break a file."""
    target = tmp_path / "data"
    shutil.copytree(small_data_dir, target)
    return target


@pytest.fixture
def settings_for(tmp_path):
    """Local settings for a data folder, with storage in this test's temporary folder."""

    def make(data: Path) -> Settings:
        return Settings(deployment="local", data_dir=Path(data), storage_dir=tmp_path / "storage")

    return make


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    if not (REAL_DATA_DIR / "stores.csv").is_file():
        pytest.skip(f"the genuine Kaggle files are not at {REAL_DATA_DIR} (set FAVORITA_REAL_DATA_DIR to run these)")
    return REAL_DATA_DIR
