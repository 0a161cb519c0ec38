"""Where the memory goes, for operators chasing growth: with tracing on
(`PYTHONTRACEMALLOC=1 pbx run`), each SIGUSR2 logs the source lines whose allocations grew most
since the previous signal (the first one sets the baseline). Off by default: tracing costs CPU
and memory on every allocation."""

from __future__ import annotations

import asyncio
import logging
import signal
import tracemalloc

log = logging.getLogger(__name__)
TOP = 15  # lines logged per report


class MemoryReport:
    def __init__(self) -> None:
        self._previous: tracemalloc.Snapshot | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Answer SIGUSR2 when tracing is on; nothing otherwise."""
        if tracemalloc.is_tracing():
            loop.add_signal_handler(signal.SIGUSR2, self.report)

    def report(self) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)])
        current, peak = tracemalloc.get_traced_memory()
        if self._previous is None:
            log.warning("memory: baseline taken, %.1f MiB traced (peak %.1f MiB)",
                        current / 2**20, peak / 2**20)
        else:
            log.warning("memory: %.1f MiB traced (peak %.1f MiB); grown most since the last "
                        "report:", current / 2**20, peak / 2**20)
            for stat in snapshot.compare_to(self._previous, "lineno")[:TOP]:
                log.warning("memory: %s", stat)
        self._previous = snapshot
