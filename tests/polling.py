"""Waiting for a real component to reach a state: the one polling helper of the tests.

Tests never sleep to let something happen; they poll a check until it holds:

    rows = await eventually(lambda: center.journal("CONNECT"), within=20)
    sent = await eventually(lambda: stats(page), until=lambda s: s["bytesSent"] > 0)
    wait_until(lambda: "web pages at" in log.read_text(), within=30)

The check returns a value (an async check may return an awaitable); the first value that
`until(value)` holds for (by default: the first truthy one) is returned. Past `within` seconds
the wait fails with an AssertionError naming the check and the last value it returned, so a
timeout says what was seen instead of "condition not met".
Exceptions of the check propagate at once (a process that died stops the wait), except those
listed in `ignoring` (a state that is not there yet).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

_NOTHING_YET = object()


def _describe(check: Callable[[], object], what: str | None) -> str:
    if what:
        return what
    if check.__name__ == "<lambda>":
        try:
            return " ".join(inspect.getsource(check).split())[:200]
        except (OSError, TypeError):
            pass
    return check.__qualname__


def _timed_out(check: Callable[[], object], what: str | None, within: float, last: object,
               error: BaseException | None) -> AssertionError:
    seen = "no value (the check always raised)" if last is _NOTHING_YET else repr(last)
    if len(seen) > 2000:
        seen = seen[:2000] + "…"
    message = f"not true within {within:g} s: {_describe(check, what)}\nlast value seen: {seen}"
    if error is not None:
        message += f"\nlast error: {error!r}"
    return AssertionError(message)


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    until: Callable[[T], object] = bool,
    within: float = 5.0,
    every: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
    what: str | None = None,
) -> T:
    """The first value of `check()` (awaited if need be) that `until` holds for, polled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: object = _NOTHING_YET
    error: BaseException | None = None
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
        except ignoring as problem:
            error = problem
        else:
            if until(value):
                return value
            last = value
        if loop.time() >= deadline:
            raise _timed_out(check, what, within, last, error)
        await asyncio.sleep(every)


def wait_until(
    check: Callable[[], T],
    *,
    until: Callable[[T], object] = bool,
    within: float = 5.0,
    every: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
    what: str | None = None,
) -> T:
    """The blocking twin of `eventually`, for synchronous tests and helpers."""
    deadline = time.monotonic() + within
    last: object = _NOTHING_YET
    error: BaseException | None = None
    while True:
        try:
            value = check()
        except ignoring as problem:
            error = problem
        else:
            if until(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise _timed_out(check, what, within, last, error)
        time.sleep(every)
