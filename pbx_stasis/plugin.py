"""The shape of a feature as the kernel takes it: one `Plugin` per feature folder (its plugin.py),
loaded by the composition root (pbx_stasis.plugins) from the list of features
(pbx_stasis.features). Its `pbx` commands are not here but in its cli.py, which `pbx` loads
without the plugin (see pbx_stasis.features), so a command does not pay for the web side.

A plugin hands the kernel what the feature brings, and the kernel imports no feature:
- routes: its API and pages, served by the web kernel (roles, sessions, CSRF, validation,
  OpenAPI all come from the Route entries);
- topics: the bus topics it publishes that the WebSocket feed may forward (each declares who
  may read it);
- services: the Stasis side's services its routes use, each with its interface (how a web
  process of its own reaches it: pbx_stasis.remote) and the app key its routes find it under;
- setup: what it puts in the web app before it starts (its stores, under its own app keys);
- watchers: tasks the Stasis process runs for it while it is up (the recordings' retention
  sweep...), each given the database, the settings and the bus (what it publishes).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from pbx_stasis.bus import Bus, EventTopic
from pbx_stasis.config import Settings
from pbx_stasis.remote.interfaces import Interface
from pbx_stasis.store.db import Database
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.routing import Route

WebSetup = Callable[[web.Application, WebContext], None]
P = TypeVar("P")
Watcher = Callable[[Database, Settings, Bus], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class LiveService(Generic[P]):
    """A Stasis-side service a feature's routes use: in one process the app's own, else a proxy
    generated from `interface`; either way under `key` in the web app."""

    interface: Interface[P]
    key: web.AppKey[P]


@dataclass(frozen=True)
class Plugin:
    """What one feature hands the kernel (see the module's docstring)."""

    name: str
    routes: Sequence[Route] = ()
    topics: Sequence[EventTopic[Any]] = ()
    services: Sequence[LiveService[Any]] = ()
    setup: WebSetup | None = None
    watchers: Sequence[Watcher] = ()
