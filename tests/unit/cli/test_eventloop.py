"""The loop `pbx run` runs on: uvloop by default, asyncio's on demand, a typo an error."""

from __future__ import annotations

import asyncio
import inspect

import pytest
import uvloop

from pbx_stasis.cli import eventloop


async def _loop_kind() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.VARIABLE, raising=False)
    assert eventloop.chosen() == "uvloop"
    assert eventloop.run(_loop_kind()) == "uvloop"
    assert isinstance(eventloop.factory()(), uvloop.Loop)


def test_the_environment_picks_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.VARIABLE, " AsyncIO ")
    assert eventloop.run(_loop_kind()) == "asyncio"


def test_an_explicit_choice_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.VARIABLE, "asyncio")
    assert eventloop.run(_loop_kind(), "uvloop") == "uvloop"


def test_an_unknown_loop_is_named_and_nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.VARIABLE, "uvlop")
    ran: list[str] = []

    async def main() -> None:
        ran.append("ran")

    coroutine = main()
    with pytest.raises(eventloop.UnknownLoop, match=r"PBX_EVENT_LOOP='uvlop'.*uvloop, asyncio"):
        eventloop.run(coroutine)
    assert ran == []
    assert inspect.getcoroutinestate(coroutine) == "CORO_CLOSED"  # no "never awaited" warning
