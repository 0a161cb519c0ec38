"""Which test left an aiohttp client session open (a plugin of every run, tests/conftest.py).

Python warns "Unclosed client session" only when the object is collected, often at the run's
exit, with no word of where it came from. Each session remembers the test that created it (and
the lines that did); at the run's end, the sessions still open are listed with that test. A
report, not a failure: the warning names a leak of the tests or the app, and this says where
to look."""

from __future__ import annotations

import gc
import traceback
import weakref
from typing import Any

import aiohttp
import pytest

_running = ["(collection)"]
_origins: weakref.WeakKeyDictionary[aiohttp.ClientSession, tuple[str, str]] = (
    weakref.WeakKeyDictionary())  # each session: the test that created it, and the lines
_created = aiohttp.ClientSession.__init__


def _init(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
    _created(self, *args, **kwargs)
    _origins[self] = (_running[0], "".join(traceback.format_stack(limit=8)[:-1]))


aiohttp.ClientSession.__init__ = _init  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    _running[0] = item.nodeid
    yield
    _running[0] = "(between tests)"


def pytest_sessionfinish(session: pytest.Session) -> None:
    gc.collect()
    leaks = [f"created in {test}, at:\n{stack}" for test, stack in (
        _origins.get(s, ("(before the run)", "")) for s in gc.get_objects()
        if isinstance(s, aiohttp.ClientSession) and not s.closed)]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller tells (below)
        workeroutput["session_leaks"] = leaks
        return
    _report(session.config, leaks)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """A pytest-xdist worker is done: its leaks, from its output."""
    _report(node.config, getattr(node, "workeroutput", {}).get("session_leaks", []))


def _report(config: pytest.Config, leaks: list[str]) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not leaks or reporter is None:
        return
    reporter.ensure_newline()
    reporter.write_line(f"{len(leaks)} aiohttp client session(s) left open:", yellow=True)
    for leak in leaks:
        reporter.write_line(f"- {leak}", yellow=True)
