"""Plots a planner reads: recent actuals, the forecast and its P10-P90 band, and the backtest overlay.

Pure matplotlib (Agg backend); every function returns PNG bytes.
"""

from __future__ import annotations

import io
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


def _units(value: float, _pos: int) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.0f}k" if abs(value) >= 1e4 else f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def _draw(ax, panel: Panel) -> None:
    ax.plot(panel.history_dates, panel.history, color=ACTUAL, lw=1.4, label="actual sales")
    if panel.actual is not None:
        ax.plot(panel.dates, panel.actual, color=ACTUAL, lw=1.4, marker="o", ms=3)
    if panel.p10 is not None and panel.p90 is not None:
        ax.fill_between(panel.dates, panel.p10, panel.p90, color=FORECAST, alpha=0.18, lw=0, label="P10-P90 band")
    ax.plot(panel.dates, panel.mean, color=FORECAST, lw=2, label=panel.forecast_label)
    if panel.baseline is not None:
        ax.plot(panel.dates, panel.baseline, color=BASELINE, lw=1.6, ls="--", label=panel.baseline_label)
    for day in panel.closed if panel.closed is not None else []:
        ax.axvspan(day - pd.Timedelta(hours=12), day + pd.Timedelta(hours=12), color="#9ca3af", alpha=0.3, lw=0,
                   label="closed: forecast 0")  # fmt: skip
    ax.axvline(panel.dates[0] - pd.Timedelta(hours=12), color="#9ca3af", lw=1, ls=":")
    ax.set_title(panel.title, fontsize=11, loc="left", fontweight="bold")
    ax.yaxis.set_major_formatter(FuncFormatter(_units))
    ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=2))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#e5e7eb", lw=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)


def total_band(point: np.ndarray, backtest_actual: np.ndarray, backtest_point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P10 and P90 of an aggregate (e.g. all stores) from the method's own relative errors on that aggregate in the
    backtest. Summing the series' quantiles would assume every series misses in the same direction on the same day,
    which makes the band far too wide; summing independent samples would make it too narrow."""
    relative = (backtest_actual - backtest_point) / np.maximum(backtest_point, 1e-9)
    low, high = np.quantile(relative, [0.1, 0.9])
    return np.clip(point * (1 + low), 0, None), point * (1 + high)


def render(panels: list[Panel], suptitle: str, note: str = "") -> bytes:
    """Panels stacked in a grid (1 column up to 2 panels, else 2 columns), with one shared legend."""
    n = len(panels)
    cols = 1 if n <= 2 else 2
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols, 3.6 * rows + 0.9), squeeze=False)
    for ax, panel in zip(axes.ravel(), panels):
        _draw(ax, panel)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    seen: dict = {}
    for ax in axes.ravel()[:n]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    height = fig.get_size_inches()[1]
    title_room = 0.75 / height  # inches kept free at the top for the title and the legend line
    fig.suptitle(suptitle, x=0.01, y=1 - 0.12 / height, ha="left", va="top", fontsize=13, fontweight="bold")
    fig.legend(seen.values(), seen.keys(), loc="upper left", bbox_to_anchor=(0.005, 1 - 0.42 / height),
               ncol=len(seen), fontsize=9, frameon=False)  # fmt: skip
    if note:
        fig.text(0.01, 0.008, note, fontsize=8, color="#6b7280", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.3 / height if note else 0, 1, 1 - title_room))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
