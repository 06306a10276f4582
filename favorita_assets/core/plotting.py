"""Plots a planner reads: recent actuals, the forecast and its P10-P90 band, and the backtest overlay.

Pure matplotlib (Agg backend); every function returns PNG bytes.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

ACTUAL = "#1f2937"
FORECAST = "#2563eb"
BASELINE = "#d97706"


@dataclass
class Panel:
    """One chart: a title, recent history, and a forecast (or backtest) with its band."""

    title: str
    history_dates: pd.DatetimeIndex
    history: np.ndarray
    dates: pd.DatetimeIndex
    mean: np.ndarray
    p10: np.ndarray | None
    p90: np.ndarray | None
    forecast_label: str
    actual: np.ndarray | None = None  # what really happened over ``dates`` (backtests)
    baseline: np.ndarray | None = None
    baseline_label: str = ""
    closed: pd.DatetimeIndex | None = None  # days known to be closed: forecast 0, shaded
    actual_label: str = "actual sales"
    window_starts: pd.DatetimeIndex | None = None  # backtest windows: a line where each begins


def _units(value: float, _pos: int) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.0f}k" if abs(value) >= 1e4 else f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def _draw(ax, panel: Panel) -> None:
    ax.plot(panel.history_dates, panel.history, color=ACTUAL, lw=1.4, label="actual sales")
    one_day = len(panel.dates) == 1  # "tomorrow": a point with its interval, not a line
    if panel.actual is not None and np.isfinite(np.asarray(panel.actual, dtype=float)).any():
        ax.plot(
            panel.dates,
            panel.actual,
            color=ACTUAL,
            lw=1.4,
            marker="o",
            ms=4 if one_day else 3,
            label=panel.actual_label,
        )
    if panel.p10 is not None and panel.p90 is not None:
        if one_day:
            low, high = np.asarray(panel.mean) - np.asarray(panel.p10), np.asarray(panel.p90) - np.asarray(panel.mean)
            ax.errorbar(
                panel.dates,
                panel.mean,
                yerr=[np.clip(low, 0, None), np.clip(high, 0, None)],
                fmt="none",
                ecolor=FORECAST,
                alpha=0.5,
                elinewidth=8,
                capsize=0,
                label="P10-P90 band",
            )
        else:
            ax.fill_between(panel.dates, panel.p10, panel.p90, color=FORECAST, alpha=0.18, lw=0, label="P10-P90 band")
    ax.plot(
        panel.dates, panel.mean, color=FORECAST, lw=2, marker="D" if one_day else None, ms=7, label=panel.forecast_label
    )
    if panel.baseline is not None:
        ax.plot(
            panel.dates,
            panel.baseline,
            color=BASELINE,
            lw=1.6,
            ls="--",
            marker="s" if one_day else None,
            label=panel.baseline_label,
        )
    for start in panel.window_starts if panel.window_starts is not None else []:
        ax.axvline(start - pd.Timedelta(hours=12), color="#d1d5db", lw=1, ls="--")
    for day in panel.closed if panel.closed is not None else []:
        ax.axvspan(
            day - pd.Timedelta(hours=12),
            day + pd.Timedelta(hours=12),
            color="#9ca3af",
            alpha=0.3,
            lw=0,
            label="closed: forecast 0",
        )
    ax.axvline(panel.dates[0] - pd.Timedelta(hours=12), color="#9ca3af", lw=1, ls=":")
    ax.set_title(panel.title, fontsize=11, loc="left", fontweight="bold")
    ax.yaxis.set_major_formatter(FuncFormatter(_units))
    ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=2))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("units sold per day", fontsize=9)
    ax.grid(axis="y", color="#e5e7eb", lw=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)


def window_scores(series: dict[str, list[float]], windows: list[str], title: str) -> bytes:
    """A grouped bar chart: for every window, one bar per candidate (``series``: label -> one value per window)."""
    fig, ax = plt.subplots(figsize=(11, 4.2))
    width = 0.8 / max(1, len(series))
    for i, (label, values) in enumerate(series.items()):
        x = np.arange(len(windows)) + (i - (len(series) - 1) / 2) * width
        ax.bar(
            x,
            [np.nan if v is None else v for v in values],
            width,
            label=label,
            color="#111827" if label == "published mix" else None,
        )
    ax.set_xticks(np.arange(len(windows)), [f"window {i + 1}\n{w}" for i, w in enumerate(windows)], fontsize=9)
    ax.set_ylabel("RMSLE (log units)", fontsize=9)
    ax.set_title(title, fontsize=12, loc="left", fontweight="bold")
    ax.grid(axis="y", color="#e5e7eb", lw=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, ncol=min(4, len(series)), loc="upper left", bbox_to_anchor=(0, -0.18))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def render(panels: list[Panel], suptitle: str, note: str = "") -> bytes:
    """Panels stacked in a grid (1 column up to 2 panels, else 2 columns), with one shared legend."""
    n = len(panels)
    cols = 1 if n <= 2 else 2
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols, 3.6 * rows + 0.9), squeeze=False)
    for ax, panel in zip(axes.ravel(), panels, strict=False):  # the grid may have one cell more than panels
        _draw(ax, panel)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    seen: dict = {}
    for ax in axes.ravel()[:n]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    height = fig.get_size_inches()[1]
    ncol = min(len(seen), 3 * cols)
    legend_rows = int(np.ceil(len(seen) / max(ncol, 1)))
    title_room = (0.53 + 0.22 * legend_rows) / height  # inches kept free at the top for the title and the legend
    fig.suptitle(suptitle, x=0.01, y=1 - 0.12 / height, ha="left", va="top", fontsize=13, fontweight="bold")
    fig.legend(
        seen.values(),
        seen.keys(),
        loc="upper left",
        bbox_to_anchor=(0.005, 1 - 0.42 / height),
        ncol=max(ncol, 1),
        fontsize=9,
        frameon=False,
    )
    note = textwrap.fill(note, width=118 * cols) if note else ""
    if note:
        fig.text(0.01, 0.008, note, fontsize=8, color="#6b7280", ha="left", va="bottom")
    fig.tight_layout(rect=(0, (0.15 + 0.15 * note.count("\n") + 0.15) / height if note else 0, 1, 1 - title_room))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def track_record(table: pd.DataFrame, title: str) -> bytes:
    """The track record, one point per scored cut-off: RMSLE, WAPE and bias of the naive baseline, the statistical
    and the adjusted forecast, side by side. ``table``: value_added.last_months_table (every month)."""
    styles = {"naive": (BASELINE, "--", "naive (last week)"), "statistical": (FORECAST, "-", "statistical")}
    styles["adjusted"] = ("#059669", ":", "adjusted (overrides)")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    x = np.arange(len(table))
    for ax, (metric, label, percent) in zip(
        axes,
        (("rmsle", "RMSLE", False), ("wape", "WAPE", True), ("bias", "bias (forecast - sales) / sales", True)),
        strict=True,
    ):
        for name, (color, line, legend) in styles.items():
            ax.plot(x, table[f"{metric}_{name}"], color=color, ls=line, marker="o", ms=5, lw=1.6, label=legend)
        if metric == "bias":
            ax.axhline(0, color="#9ca3af", lw=0.8)
        ax.set_xticks(x, table["month"], fontsize=8, rotation=30)
        ax.set_title(label, fontsize=10, loc="left")
        if percent:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
        ax.grid(axis="y", color="#e5e7eb", lw=0.8)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.legend(handles, labels, loc="upper right", ncol=3, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
