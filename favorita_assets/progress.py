"""Progress a person can follow while `favorita run` works: stage i of N, a bar for training (epoch, loss, time
left) and for prediction, the elapsed time. Plain lines when stdout is not a terminal (CI, logs).

Assets report through their ordinary Dagster log (``report_epoch``, ``report_predicted``: a message for the event
log, with a structured ``favorita_progress`` field); the ``favorita_progress`` Dagster logger, chosen by the CLI in
the run config, hands step starts and those fields to the display. Under `dagster dev` or the daemon nothing here
is shown; the messages stay in the event log.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import IO

from dagster import DagsterEventType, InitLoggerContext, logger

# What `favorita run` shows as its stages, in order, and the steps (assets and their checks) that belong to each.
STAGES = (
    ("land the raw files", ("raw_",)),
    ("clean the series", ("cleaned_series",)),
    ("build the DeepAR channels", ("deepar_training_data",)),
    ("train DeepAR", ("deepar_model",)),
    ("backtest against the baselines", ("forecast_evaluation",)),
    ("forecast", ("forecasts",)),
    ("write the Kaggle submission", ("kaggle_submission",)),
    ("draw the plots", ("forecast_plots",)),
    ("explain the forecasts", ("forecast_drivers",)),
)
FIELD = "favorita_progress"


def stage_of(step_key: str) -> int | None:
    """The index in STAGES of the stage a step belongs to (None for steps outside them)."""
    for index, (_, prefixes) in enumerate(STAGES):
        if any(step_key.startswith(p) for p in prefixes):
            return index
    return None


def report_epoch(log, epoch: int, epochs: int, loss: float) -> None:
    log.info(
        f"epoch {epoch}/{epochs}: training loss {loss:.4f}",
        extra={FIELD: {"kind": "epoch", "done": epoch, "total": epochs, "loss": loss}},
    )


def report_predicted(log, done: int, total: int, what: str) -> None:
    log.debug(
        f"{what}: {done:,}/{total:,} series predicted",
        extra={FIELD: {"kind": "predict", "done": done, "total": total, "what": what}},
    )


class Display:
    """Draws the progress: rich's live bars on a terminal, plain lines elsewhere."""

    def __init__(self, stream: IO[str] | None = None, plain: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.plain = not self.stream.isatty() if plain is None else plain
        self.started = time.perf_counter()
        self.stages_started: set[int] = set()
        self.stage: str | None = None  # the stage under way, in words (what an interruption names)
        self._bar = None  # (rich Progress, task id, kind) while a bar is drawn
        self._last_plain = 0.0

    def elapsed(self) -> str:
        seconds = int(time.perf_counter() - self.started)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def step_started(self, step_key: str) -> None:
        index = stage_of(step_key)
        if index is None or index in self.stages_started:
            return
        self._close_bar()
        self.stages_started.add(index)
        self.stage = f"stage {len(self.stages_started)}/{len(STAGES)} ({STAGES[index][0]})"
        self._print(f"[{len(self.stages_started)}/{len(STAGES)}] {STAGES[index][0]}  ({self.elapsed()} elapsed)")
        if not self.plain:  # something moves from the first second, until the stage's own bar replaces it
            self._spinner(STAGES[index][0])

    def _spinner(self, label: str) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("   "),
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            TextColumn("elapsed"),
            transient=True,
        )
        bar.start()
        self._bar = (bar, bar.add_task(label, total=None), ("stage", label))

    def update(self, progress: dict) -> None:
        kind, done, total = progress["kind"], int(progress["done"]), int(progress["total"])
        if kind == "epoch":
            label, detail = "training", f"loss {progress['loss']:.4f}"
        else:
            label, detail = progress.get("what", "predicting"), ""
        if self.plain:
            now = time.perf_counter()
            if done == total or done == 1 or now - self._last_plain >= 10:
                self._last_plain = now
                unit = "epoch" if kind == "epoch" else "series"
                self._print(f"    {label}: {unit} {done:,}/{total:,} {detail}  ({self.elapsed()} elapsed)".rstrip())
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        if self._bar is None or self._bar[2] != (kind, label):
            self._close_bar()
            bar = Progress(
                TextColumn("    {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                TextColumn("elapsed,"),
                TimeRemainingColumn(),
                TextColumn("left"),
                transient=False,
            )
            bar.start()
            self._bar = (bar, bar.add_task(label, total=total, detail=detail), (kind, label))
        bar, task, _ = self._bar
        bar.update(task, completed=done, total=total, detail=detail)

    def close(self) -> None:
        self._close_bar()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar[0].stop()
            self._bar = None

    def _print(self, line: str) -> None:
        if self._bar is not None:
            self._bar[0].console.print(line, highlight=False)
        else:
            print(line, file=self.stream, flush=True)


_display: Display | None = None


def show_on(display: Display | None) -> None:
    """Send the ``favorita_progress`` logger's records to ``display`` (None: nowhere)."""
    global _display
    _display = display


class _Forward(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if _display is None:
            return
        meta = getattr(record, "dagster_meta", {}) or {}
        event = meta.get("dagster_event")
        if event is not None and event.event_type == DagsterEventType.STEP_START and event.step_key:
            _display.step_started(event.step_key)
        progress = getattr(record, FIELD, None)
        if progress:
            _display.update(progress)


@logger(description="Stage, training and prediction progress for `favorita run` (shown by its display).")
def favorita_progress(init_context: InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("favorita.progress")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    if not any(isinstance(h, _Forward) for h in log.handlers):
        log.addHandler(_Forward())
    return log
