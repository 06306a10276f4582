"""`favorita --help` is fast and states the numbers the code decides."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_help_loads_neither_pandas_nor_dagster_nor_torch():
    probe = (
        "import sys\nfrom favorita_assets.cli import build_parser\nbuild_parser().format_help()\n"
        "print(sorted(m for m in ('pandas', 'dagster', 'torch', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_help_numbers_are_the_code_s(tmp_path):
    from favorita_assets.cli import build_parser
    from favorita_assets.core.defaults import DEFAULT_EPOCHS, KAGGLE_FAMILIES, SAMPLE_FILES
    from favorita_assets.core.sample_data import FAMILIES, write_sample_data
    from favorita_assets.modeling.config import DeepARConfig
    from favorita_assets.partitions import cutoff_months

    assert len(FAMILIES) == KAGGLE_FAMILIES
    assert DeepARConfig().epochs == DEFAULT_EPOCHS
    written = write_sample_data(tmp_path, 1, 1, "2017-01-01", "2017-03-01", 0)
    assert sorted(p.name for p in written.values()) == sorted(SAMPLE_FILES)
    # 120 days for a 16-day forecast: the first cut-off month is the one holding the data's 120th day
    assert cutoff_months("2017-01-01", "2017-08-15")[0] == "2017-04"  # day 120 is 30 April
    assert cutoff_months("2017-01-02", "2017-08-15")[0] == "2017-05"
    parser = build_parser()
    run_help = parser._subparsers._group_actions[0].choices["run"].format_help()
    assert "needs 120 days of history" in " ".join(run_help.split()) and f"(default {DEFAULT_EPOCHS})" in run_help
    sample_help = " ".join(parser._subparsers._group_actions[0].choices["sample-data"].format_help().split())
    assert f"the {len(SAMPLE_FILES)} CSV files" in sample_help
