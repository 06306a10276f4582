"""The documentation site: it builds in strict mode, and what it states about the code is what the code does.

The reference pages (CLI, settings, run configuration, the asset graph) are generated from the code by docs/hooks.py;
the numbers and lists written in prose are checked here against the constants that decide them.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from favorita_assets import storage_keys as keys
from favorita_assets.core import replenishment
from favorita_assets.core.errors import FavoritaDataError
from favorita_assets.modeling.config import DeepARConfig, TrainingDataConfig
from favorita_assets.partitions import (
    DEFAULT_BACKTEST_WINDOWS,
    DEFAULT_CONTEXT_LENGTH,
    DEFAULT_PREDICTION_LENGTH,
    MAX_PREDICTION_LENGTH,
    check_month,
    minimum_history_days,
)
from favorita_assets.pipeline import PipelineReport, export_outputs
from favorita_assets.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
README = REPO / "README.md"
H = DEFAULT_PREDICTION_LENGTH
HISTORY = minimum_history_days(H)
SERVICE = round(replenishment.DEFAULT_SERVICE_LEVEL * 100, 6)


def _text(path: Path) -> str:
    """A page with its line breaks and runs of spaces folded, so a sentence can be found whatever its wrapping."""
    return re.sub(r"\s+", " ", path.read_text())


def _hooks():
    spec = importlib.util.spec_from_file_location("favorita_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def mkdocs_installed():
    for module in ("mkdocs", "material"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: `pip install -e '.[dev]'` installs mkdocs-material")


def test_site_builds_in_strict_mode_with_the_generated_reference(mkdocs_installed, tmp_path):
    result = _build(REPO / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    for name in ("sample-data", "run", "what-if", "demo", "prod-local", "aws-settings", "glue-package"):
        assert f"favorita {name}" in cli
    assert "--prediction-length" in cli
    settings = (tmp_path / "site" / "reference" / "settings" / "index.html").read_text()
    assert "FAVORITA_GLUE_ENGINE" in settings and "FAVORITA_RETRAIN_CRON" in settings
    assert "early_stopping_patience" in settings  # the run configuration, from DeepARConfig
    graph = (tmp_path / "site" / "concepts" / "graph" / "index.html").read_text()
    assert "planner_report" in graph and "generated:" not in graph


def test_strict_build_refuses_a_broken_link(mkdocs_installed, tmp_path):
    """The site's own validation settings turn a link to a missing page into a failed build."""
    import yaml

    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.UnsafeLoader)  # our own file: !!python/name
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the missing page](missing.md).\n")
    small = {key: config[key] for key in ("site_name", "strict", "validation", "theme")}
    small["nav"] = [{"Home": "index.md"}]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(small))
    result = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "missing.md" in result.stderr


def test_unknown_generator_is_refused():
    with pytest.raises(ValueError, match="no-such-table"):
        _hooks().render("# Page\n\n<!-- generated: no-such-table -->\n")


@pytest.mark.parametrize(
    ("page", "sentence"),
    [
        ("getting-started.md", f"{HISTORY} days for the default {H}-day forecast"),
        ("getting-started.md", f"a horizon outside 1–{MAX_PREDICTION_LENGTH} days"),
        (
            "concepts/cutoffs.md",
            f"with the default {H}-day horizon and {DEFAULT_BACKTEST_WINDOWS} backtest windows, {HISTORY} days: "
            f"a {DEFAULT_CONTEXT_LENGTH}-day context",
        ),
        ("data/bad-input.md", f"a cut-off needs {HISTORY} days of history for the default {H}-day forecast"),
        ("concepts/backtest.md", f"(default {DEFAULT_BACKTEST_WINDOWS} × {H})"),
        (
            "concepts/backtest.md",
            f"a {DEFAULT_CONTEXT_LENGTH}-day context, {DeepARConfig.model_fields['epochs'].default} epochs",
        ),
        ("concepts/graph.md", f"`backtest_windows` windows (default {DEFAULT_BACKTEST_WINDOWS})"),
        (
            "planners/plan.md",
            f"(above {100 - SERVICE:g} % at the default {SERVICE:g} %)",
        ),
        ("planners/plan.md", f"else {SERVICE:g} % (the asset's `service_level`)"),
        ("planners/plan.md", f"more than {replenishment.DEFAULT_OVERSTOCK_COVER_DAYS:g} days of forecast demand"),
        ("planners/plan.md", f"fewer than {replenishment.MIN_RESIDUALS} backtest sums"),
        ("planners/plan.md", f"forecast horizon ({H} days by default"),
    ],
)
def test_the_numbers_the_pages_state_are_the_codes(page, sentence):
    assert sentence in _text(DOCS / page), f"docs/{page} should say: {sentence}"


def test_the_defaults_agree_between_the_cli_and_the_run_configuration():
    fields = TrainingDataConfig.model_fields
    assert fields["prediction_length"].default == DEFAULT_PREDICTION_LENGTH
    assert fields["backtest_windows"].default == DEFAULT_BACKTEST_WINDOWS


def test_the_refused_month_example_is_what_the_code_says():
    with pytest.raises(FavoritaDataError) as refused:
        check_month("2030-01", "2013-01-01", "2017-08-15")
    page = _text(DOCS / "data" / "bad-input.md")
    assert f"[favorita] --month 2030-01: {refused.value.problem}; {refused.value.fix}" in page


def test_the_outputs_listed_are_the_ones_a_run_writes(tmp_path):
    """getting-started.md lists the files `favorita run` copies into its output folder: exactly those."""
    from favorita_assets.resources.storage import LocalStorage

    settings = Settings(deployment="local", data_dir=tmp_path / "data", storage_dir=tmp_path / "storage")
    storage = LocalStorage(root=str(settings.storage_dir))
    month = "2017-07"
    storage.write_parquet(keys.forecasts(month), pd.DataFrame({"mean": [1.0]}))
    for key in (keys.submission(month), keys.evaluation_metrics(month), keys.planner_report(month)):
        storage.write_bytes(key, b"x")
    storage.write_bytes(keys.replenishment_csv(month), b"x")
    for name in keys.PLOT_FILES:
        storage.write_bytes(f"{keys.plots_prefix(month)}/{name}", b"x")
    storage.write_bytes(keys.track_record_plot(month), b"x")
    made = (
        "forecasts",
        "kaggle_submission",
        "forecast_evaluation",
        "planner_report",
        "replenishment_plan",
        "forecast_value_added",
    )
    report = PipelineReport(success=True, partition_key=month, materialized={a: {} for a in (*made, "forecast_plots")})
    out = tmp_path / "out"
    written = {p.relative_to(out).as_posix() for p in export_outputs(settings, report, out).values()}

    block = re.search(
        r"What it writes into its output folder.*?```text\n(.*?)```", (DOCS / "getting-started.md").read_text(), re.S
    )
    listed: set[str] = set()
    for line in block.group(1).splitlines():
        path = line.split()[0].removeprefix("favorita_out/")
        if path.startswith("plots/"):
            listed |= {f"plots/{name.strip(',')}" for name in [path.removeprefix("plots/"), *line.split()[1:]]}
        elif not path.endswith("/"):
            listed.add(path)
    assert listed == written


def test_the_storage_layout_names_every_key():
    page = (DOCS / "reference" / "storage.md").read_text()
    placeholders = {
        "partition_key": "YYYY-MM",
        "version": "<version>",
        "attempt": "<attempt>",
        "table": "<table>",
        "filename": "<file>",
        "name": "<name>",
        "landed_at": "<landed_at>",
        "sha256": "<sha256>",
    }
    missing = []
    for name, function in inspect.getmembers(keys, inspect.isfunction):
        if function.__module__ != keys.__name__ or name == "month_tag":
            continue
        parameters = inspect.signature(function).parameters
        key = function(*(placeholders[p] for p in parameters))
        if key not in page:
            missing.append(f"{name}: {key}")
    for key in (keys.LANDING_MANIFEST, keys.SERVING_DEPLOYMENTS, keys.CLEANED_SERIES_POINTER):
        if key not in page:
            missing.append(key)
    plots = "{" + ",".join(n.removesuffix(".png") for n in keys.PLOT_FILES) + "}.png"
    if plots not in page:
        missing.append(plots)
    assert not missing, f"docs/reference/storage.md lacks {missing}"


def test_readme_is_a_short_front_door_linking_into_the_site():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert links, "the README links into the documentation"
    for link in links:
        assert (REPO / link).is_file(), f"README links to {link}, which does not exist"
    for command in ("make demo", "make demo-full", "favorita ui --out favorita_out", "make docs", "make test"):
        assert command in text
    assert "favorita_out/planner_report.html" in text


def test_readme_graph_is_the_codes():
    """The README's Mermaid picture has exactly the asset graph's edges (the site's is generated)."""
    block = re.search(r"```mermaid\n(.*?)```", README.read_text(), re.S)
    assert block, "the README shows the asset graph as a Mermaid diagram"
    drawn = set(re.findall(r"^\s*(\w+) --> (\w+)\s*$", block.group(1), re.M))
    _, edges = _hooks().asset_edges()
    assert drawn == edges


def test_cli_help_states_the_codes_defaults(tmp_path):
    from favorita_assets.cli import build_parser
    from favorita_assets.core.sample_data import write_sample_data

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run_help = re.sub(r"\s+", " ", action.choices["run"].format_help())
    sample_help = re.sub(r"\s+", " ", action.choices["sample-data"].format_help())
    epochs = re.search(r"--epochs EPOCHS .*?\(default (\d+)", run_help)
    assert epochs and int(epochs.group(1)) == DeepARConfig.model_fields["epochs"].default, run_help
    files = len(write_sample_data(tmp_path, 1, 1, "2017-06-01", "2017-08-15", 0))
    words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    stated = re.findall(r"the (\w+) CSV files", sample_help)
    assert stated == [] or stated in ([words[files - 1]], [str(files)]), (
        f"sample-data writes {files} files; its help says {stated}"
    )


def test_every_command_the_readme_and_the_site_name_exists():
    from favorita_assets.cli import build_parser

    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.M))
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    pages = [README, *sorted(DOCS.rglob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)
    named_targets = set(re.findall(r"(?:`|^)make ([a-z][\w-]*)", text, re.M))
    named_commands = set(re.findall(r"(?:`|^|/)favorita ([a-z][\w-]*)", text, re.M))
    assert named_targets and named_targets <= targets, f"no such make target: {sorted(named_targets - targets)}"
    unknown = named_commands - set(action.choices)
    assert not unknown, f"no such favorita command: {sorted(unknown)}"
