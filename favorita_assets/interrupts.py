"""Ctrl-C and SIGTERM during a command: one line, exit 130 or 143, and nothing half-written.

Both signals raise KeyboardInterrupt in the main thread. While a Dagster run executes, Dagster swaps the handlers for
its own, and its exception can land where Python only prints it ("Exception ignored in ..."), e.g. in a garbage
collector callback, and the run goes on. So every handled signal's number is read from Python's wakeup fd by a
watcher thread, which delivers the signal again every few seconds until the command says it has stopped, and such
ignored interrupts are kept off the terminal.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
REDELIVER_SECONDS = 3.0


class Signals:
    """Within ``with Signals() as signals``: SIGINT and SIGTERM raise KeyboardInterrupt, ``received()`` says which
    came last, and ``settle()`` ends the redelivery once the command is stopping."""

    def __enter__(self) -> Signals:
        self._read, self._write = os.pipe()
        for fd in (self._read, self._write):
            os.set_blocking(fd, False)
        self._seen: list[int] = []
        self._settled = threading.Event()
        self._closing = threading.Event()
        self._previous = [signal.getsignal(s) for s in STOP_SIGNALS]
        for s in STOP_SIGNALS:
            signal.signal(s, signal.default_int_handler)
        self._wakeup = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        self._watcher = threading.Thread(target=self._watch, name="favorita-signals", daemon=True)
        self._watcher.start()
        return self

    def received(self) -> int | None:
        """The last of SIGINT and SIGTERM received so far (None: neither)."""
        return self._seen[-1] if self._seen else None

    def exit_code(self) -> int:
        """130 after Ctrl-C (SIGINT), 143 after SIGTERM: the shell's convention for a command a signal stopped."""
        return 128 + (self.received() or signal.SIGINT)

    def settle(self) -> None:
        """The command is stopping (or has finished its run): deliver no signal again."""
        self._settled.set()

    def _watch(self) -> None:
        delivered_at = None
        while not self._closing.is_set():
            ready, _, _ = select.select([self._read], [], [], 0.5)
            if ready:
                try:
                    got = os.read(self._read, 512)
                except BlockingIOError:
                    got = b""
                self._seen.extend(b for b in got if b in STOP_SIGNALS)
            if not self._seen or self._settled.is_set():
                continue
            now = os.times().elapsed
            if delivered_at is None:
                delivered_at = now
            elif now - delivered_at >= REDELIVER_SECONDS:  # the first one was swallowed: again
                delivered_at = now
                signal.raise_signal(self._seen[-1])

    def _unraisable(self, unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) or type(unraisable.exc_value).__name__ == (
            "DagsterExecutionInterruptedError"
        ):
            return  # an interrupt that landed in a finalizer: the watcher delivers it again
        self._hook(unraisable)

    def __exit__(self, *exc) -> None:
        self._settled.set()
        self._closing.set()
        self._watcher.join()
        signal.set_wakeup_fd(self._wakeup)
        for s, handler in zip(STOP_SIGNALS, self._previous, strict=True):
            signal.signal(s, handler)
        sys.unraisablehook = self._hook
        os.close(self._read)
        os.close(self._write)


def interrupted_line(stage: str | None) -> str:
    return f"[favorita] interrupted in {stage or 'the run'}; published outputs unchanged; run again to continue"
