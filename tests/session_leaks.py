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
    open_ = [s for s in gc.get_objects()
             if isinstance(s, aiohttp.ClientSession) and not s.closed]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not open_ or reporter is None:
        return
    reporter.ensure_newline()
    reporter.write_line(f"{len(open_)} aiohttp client session(s) left open:", yellow=True)
    for leaked in open_:
        test, stack = _origins.get(leaked, ("(before the run)", ""))
        reporter.write_line(f"- created in {test}, at:\n{stack}", yellow=True)
