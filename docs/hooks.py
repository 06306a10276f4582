"""MkDocs hook: the reference pages that are generated from the code, so they cannot drift from it.

A page asks for generated content with a line of its own, ``<!-- generated: NAME -->``; NAME is one of
``GENERATORS`` below. An unknown name, or a setting that settings.py reads and this file does not describe, fails
the build.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the checkout being documented, before any installed copy

HELP_WIDTH = 100
_MARKER = re.compile(r"^<!-- generated: ([a-z0-9-]+) -->$", re.MULTILINE)

# What each variable of the embedded default means; the defaults come from Settings.from_env({}).
LOCAL_SETTINGS = {
    "FAVORITA_DEPLOYMENT": ("deployment", "`local` or `aws` (the aws deployment's own settings are below)"),
    "FAVORITA_DATA_DIR": ("data_dir", "folder with the Kaggle files (`favorita run --data` sets it)"),
    "FAVORITA_STORAGE_DIR": ("storage_dir", "the local storage root (`OUT/storage` under `favorita run`)"),
    "FAVORITA_RAW_SOURCE": (
        "raw_source",
        "`folder`: read the Kaggle files from `FAVORITA_DATA_DIR`; `landing`: read them from `landing/` in "
        "storage, where the `upload_raw_data` job puts them (in aws mode the raw bucket)",
    ),
    "FAVORITA_DAGSTER_URL": ("dagster_url", "the Dagster UI's address, for the links in alerts"),
    "FAVORITA_RETRAIN_CRON": ("retrain_cron", "when the monthly schedule refreshes the data (cron, UTC)"),
    "FAVORITA_AUTOMATION": (
        "automation",
        "`running` or `stopped`: how the monthly schedule and the new-data sensor start on an instance. Stopped on a "
        "laptop (the UI starts nothing unasked; turn them on in its Automation page), running in aws mode and under "
        "`favorita prod-local`",
    ),
}


def cli_help() -> str:
    """Every subcommand's ``--help``, as argparse prints it."""
    from favorita_assets.cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)  # argparse wraps to the terminal's width; the page has a fixed one
    try:
        parser = build_parser()
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        summaries = {choice.dest: choice.help for choice in action._choices_actions}
        parts = ["## `favorita`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, sub in action.choices.items():
            parts += [f"## `favorita {name}`", "", f"{summaries.get(name, '').capitalize()}.", ""]
            parts += ["```text", sub.format_help().rstrip(), "```", ""]
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(parts)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def settings_local() -> str:
    from favorita_assets import settings as settings_module

    source = Path(settings_module.__file__).read_text()
    read = set(re.findall(r'env\.get\("(FAVORITA_[A-Z_]+)"', source))
    aws_names = {s.env for s in settings_module.AWS_SETTINGS}
    undescribed = sorted(read - set(LOCAL_SETTINGS) - aws_names)
    if undescribed:
        raise ValueError(f"settings.py reads {', '.join(undescribed)}: describe it in docs/hooks.py LOCAL_SETTINGS")
    defaults = settings_module.Settings.from_env({})
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for env, (attribute, meaning) in LOCAL_SETTINGS.items():
        if env not in read:
            raise ValueError(f"docs/hooks.py describes {env}, which settings.py no longer reads")
        rows.append(f"| `{env}` | `{getattr(defaults, attribute)}` | {_cell(meaning)} |")
    from favorita_assets.core.cores import THREADS_VARIABLE

    rows.append(
        f"| `{THREADS_VARIABLE}` | the CPUs the process may run on, capped by its container's CPU quota | "
        "the cores the models use (LightGBM's threads, statsforecast's processes, torch's threads); set it to "
        "each run's share when several runs share one machine |"
    )
    return "\n".join(rows)


def settings_aws() -> str:
    from favorita_assets.settings import AWS_SETTINGS

    rows = ["| variable | Terraform output | default | meaning |", "|---|---|---|---|"]
    for s in AWS_SETTINGS:
        output = f"`{s.terraform_output}`" if s.terraform_output else ""
        if s.default is None:
            default = "required"
        elif s.default == "":
            default = "none"
        else:
            default = f"`{s.default}`"
        rows.append(f"| `{s.env}` | {output} | {default} | {_cell(s.description)} |")
    return "\n".join(rows)


def _config_table(config_class) -> str:
    rows = ["| field | default | meaning |", "|---|---|---|"]
    for name, info in config_class.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "empty" if default is None else f"`{default}`"
        rows.append(f"| `{name}` | {_cell(shown)} | {_cell(info.description or '')} |")
    return "\n".join(rows)


def run_config() -> str:
    from favorita_assets.decisions.assets import ReplenishmentConfig
    from favorita_assets.modeling.config import DeepARConfig, EvaluationConfig, TrainingDataConfig

    parts = []
    for asset, config_class in (
        ("deepar_training_data", TrainingDataConfig),
        ("deepar_model", DeepARConfig),
        ("forecast_evaluation", EvaluationConfig),
        ("replenishment_plan", ReplenishmentConfig),
    ):
        parts += [f"### `{asset}`", "", _config_table(config_class), ""]
    return "\n".join(parts)


@contextlib.contextmanager
def _embedded_default():
    """The embedded default's settings while the definitions load: the site is the same whatever deployment the
    shell that builds it is set up for (an aws shell's settings would otherwise be checked, and could fail)."""
    saved = {name: value for name, value in os.environ.items() if name.startswith("FAVORITA_")}
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


def asset_edges() -> tuple[dict[str, str], set[tuple[str, str]]]:
    """The asset graph as the code defines it: each asset's group, and every (upstream, downstream) edge."""
    with _embedded_default():
        from favorita_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    groups: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        groups[name] = node.group_name
        edges |= {(parent.to_user_string(), name) for parent in node.parent_keys}
    return groups, edges


def asset_graph() -> str:
    """A Mermaid picture of the asset graph, one box per group."""
    groups, edges = asset_edges()
    lines = ["```mermaid", "graph LR"]
    for group in sorted(set(groups.values()), key=lambda g: min(n for n in groups if groups[n] == g)):
        lines.append(f"  subgraph {group}")
        lines += [f"    {name}" for name in sorted(n for n in groups if groups[n] == group)]
        lines.append("  end")
    lines += [f"  {a} --> {b}" for a, b in sorted(edges)]
    lines.append("```")
    return "\n".join(lines)


GENERATORS = {
    "asset-graph": asset_graph,
    "cli-help": cli_help,
    "settings-local": settings_local,
    "settings-aws": settings_aws,
    "run-config": run_config,
}


def render(markdown: str) -> str:
    """The page with every ``<!-- generated: NAME -->`` line replaced by what GENERATORS[NAME] makes."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"<!-- generated: {name} -->: no such generator; known: {', '.join(GENERATORS)}")
        return GENERATORS[name]()

    return _MARKER.sub(replace, markdown)


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 (MkDocs' hook signature)
    from mkdocs.exceptions import PluginError

    try:
        return render(markdown)
    except Exception as error:  # a build that cannot generate a page must fail, naming the page
        raise PluginError(f"{page.file.src_path}: {error}") from error
