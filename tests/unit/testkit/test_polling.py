"""The polling helper of the tests: first truthy value, a timeout that names the last value seen."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from polling import eventually, wait_until


async def test_eventually_returns_the_first_truthy_value_of_a_sync_or_async_check() -> None:
    counter = itertools.count()
    assert await eventually(lambda: [n] if (n := next(counter)) >= 3 else [], every=0.001) == [3]

    ticks = itertools.count()

    async def rows() -> list[int]:
        await asyncio.sleep(0)  # an async check, as a database read is
        return list(range(next(ticks)))

    assert await eventually(rows, every=0.001) == [0]


async def test_a_timeout_names_the_check_and_the_last_value_seen() -> None:
    seen = iter(range(1000))
    started = time.monotonic()
    with pytest.raises(AssertionError) as failed:
        await eventually(lambda: next(seen) > 10_000 and "never", within=0.2, every=0.01)
    assert time.monotonic() - started < 1.0
    message = str(failed.value)
    assert "not true within 0.2 s: " in message
    assert "next(seen) > 10_000" in message  # the source of the lambda
    assert "last value seen: False" in message


async def test_errors_stop_the_wait_unless_they_are_expected() -> None:
    def gone() -> bool:
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="the process exited"):
        await eventually(gone, within=5)

    attempts = itertools.count()

    def not_yet() -> str:
        if next(attempts) < 3:
            raise KeyError("not there yet")
        return "there"

    assert await eventually(not_yet, ignoring=(KeyError,), every=0.001) == "there"
    with pytest.raises(AssertionError, match=r"(?s)no value.*last error: KeyError"):
        await eventually(lambda: {}["x"], ignoring=(KeyError,), within=0.05, what="the key x")


def test_wait_until_is_the_blocking_twin() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter) == 2 and "done", every=0.001) == "done"
    with pytest.raises(AssertionError, match=r"(?s)the log line.*last value seen: ''"):
        wait_until(lambda: "", within=0.05, every=0.01, what="the log line")


async def test_until_says_which_value_is_wanted_and_the_timeout_shows_the_real_value() -> None:
    readings = iter([{"bytes": 0}, {"bytes": 0}, {"bytes": 160}])
    wanted = await eventually(lambda: next(readings), until=lambda s: s["bytes"] > 0, every=0.001)
    assert wanted == {"bytes": 160}
    with pytest.raises(AssertionError, match=r"last value seen: \{'bytes': 0\}"):
        await eventually(lambda: {"bytes": 0}, until=lambda s: s["bytes"] > 0, within=0.05)
    assert wait_until(lambda: 0, until=lambda n: n == 0) == 0  # a falsy value can be the one
