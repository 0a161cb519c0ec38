"""The event loop the app runs on: uvloop (libuv, in C) unless `PBX_EVENT_LOOP=asyncio`.

Every ARI message, feed frame and timer goes through the loop and its transports; uvloop's
cost less CPU and wait less behind one another, which shows in the app's CPU per call and
above all in the tail of caller INVITE → agent INVITE (docs/benchmarks.md, "Session 9").
asyncio's own loop stays one variable away, for asyncio's debug mode and for comparing the
two (`scripts/bench --loop`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")
KINDS = ("uvloop", "asyncio")
VARIABLE = "PBX_EVENT_LOOP"


class UnknownLoop(ValueError):
    pass


def chosen(kind: str | None = None) -> str:
    """`kind`, or the environment's choice, or uvloop; an unknown name is an error, not a
    silent fallback (a typo would otherwise measure the wrong loop)."""
    name = (kind or os.environ.get(VARIABLE) or "uvloop").strip().lower()
    if name not in KINDS:
        raise UnknownLoop(f"{VARIABLE}={name!r}: the event loop is one of {', '.join(KINDS)}")
    return name


def factory(kind: str | None = None) -> Callable[[], asyncio.AbstractEventLoop]:
    return uvloop.new_event_loop if chosen(kind) == "uvloop" else asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T], kind: str | None = None) -> T:
    """asyncio.run on the chosen loop."""
    try:
        make = factory(kind)
    except UnknownLoop:
        main.close()  # never started: no "never awaited" warning beside the error
        raise
    with asyncio.Runner(loop_factory=make) as runner:
        return runner.run(main)
