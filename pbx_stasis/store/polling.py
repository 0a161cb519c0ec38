"""Reading the database now and then while it may be away: the last answer is kept, and an
outage is told once when it begins and once when it ends, not at every poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Outage:
    """One warning line when reads start failing, one info line when they work again."""

    def __init__(self, what: str, every: float) -> None:
        self.what = what
        self.every = every
        self.failing = False

    def failed(self, exc: BaseException) -> None:
        if not self.failing:
            log.warning("%s: %s (tried again every %g s; the last answer is kept)",
                        self.what, exc, self.every)
        self.failing = True

    def worked(self) -> None:
        if self.failing:
            log.info("%s: working again", self.what)
        self.failing = False


async def poll(step: Callable[[], Awaitable[None]], every: float, what: str, *,
               wait_first: bool = True,
               errors: tuple[type[Exception], ...] = (Exception,)) -> None:
    """Run `step` every `every` seconds until cancelled (first after a wait, or at once), a
    failure in `errors` told once per outage."""
    outage = Outage(what, every)
    while True:
        if wait_first:
            await asyncio.sleep(every)
        try:
            await step()
        except errors as exc:
            outage.failed(exc)
        else:
            outage.worked()
        if not wait_first:
            await asyncio.sleep(every)


class Polling:
    """`step` run once at `start` (a failure only told: the loop tries again), then every
    `every` seconds in a task of its own until `stop`."""

    def __init__(self, step: Callable[[], Awaitable[None]], every: float, what: str) -> None:
        self.step, self.every, self.what = step, every, what
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await self.step()
        except Exception as exc:  # the database away at start
            log.warning("%s not read yet (tried again every %g s): %s", self.what, self.every,
                        exc)
        self._task = asyncio.create_task(poll(self.step, self.every, self.what), name=self.what)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
