"""Wall time and peak resident memory of a block, for the benchmark scripts."""

from __future__ import annotations

import gc
import os
import threading
import time
from contextlib import contextmanager

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


@contextmanager
def measured(results: list, stage: str, rows: int | None = None):
    """Append (stage, rows, seconds, peak MB added over the RSS at the start) to ``results``; RSS is sampled every
    5 ms. The block may set ``box["rows"]``."""
    gc.collect()
    start_rss, peak = rss(), [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    box: dict = {}
    try:
        yield box
    finally:
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        results.append((stage, box.get("rows", rows), seconds, (max(peak[0], rss()) - start_rss) / 2**20))
