"""The shape of a feature as the kernel takes it: one `Plugin` per feature folder (its plugin.py),
loaded by the composition root (pbx_stasis.plugins), the one module that names the features.

A plugin hands the kernel what the feature brings, and the kernel imports no feature:
- routes: its API and pages, served by the web kernel (roles, sessions, CSRF, validation,
  OpenAPI all come from the Route entries);
- topics: the bus topics it publishes that the WebSocket feed may forward, and who may see them;
- commands: a function adding its `pbx` subcommands to the CLI's argparse subparsers;
- setup: what it puts in the web app before it starts (its stores, under its own app keys);
- watchers: tasks the Stasis process runs for it while it is up (the recordings' retention
  sweep...), each given the database and the settings.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from pbx_stasis.config import Settings
from pbx_stasis.store.db import Database
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.feed import Topic
from pbx_stasis.web.routing import Route

Subparsers = argparse._SubParsersAction  # the `pbx` parser's subcommands (argparse's own type)
Commands = Callable[["Subparsers[argparse.ArgumentParser]"], None]
WebSetup = Callable[[web.Application, WebContext], None]
Watcher = Callable[[Database, Settings], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Plugin:
    """What one feature hands the kernel (see the module's docstring)."""

    name: str
    routes: Sequence[Route] = ()
    topics: Mapping[str, Topic] = field(default_factory=dict)
    commands: Commands | None = None
    setup: WebSetup | None = None
    watchers: Sequence[Watcher] = ()
