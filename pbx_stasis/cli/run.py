"""`pbx run`: the process. The Stasis app and the web sidecar in one process (`all`), or either
alone (`stasis`, `web`), the web side then reaching the Stasis side's services through proxies
generated from the plugins' interfaces, and its bus events through a relay."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, web

from pbx_stasis.app import StasisApp
from pbx_stasis.bus import Bus
from pbx_stasis.center.live import LiveContactCenter, websocket_sip_url
from pbx_stasis.cli.app_lock import AppInUse, AppLock
from pbx_stasis.config import ConfigError, Settings
from pbx_stasis.plugins import INTERFACES, PLUGINS, TOPICS, web_app
from pbx_stasis.remote.client import proxy, relay_events, stasis_ready
from pbx_stasis.remote.interfaces import Offered
from pbx_stasis.remote.server import rpc_app
from pbx_stasis.store import Database, StoreUnavailable
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.health import HEALTH, Health, add_health, database_check
from pbx_stasis.web.serverlog import SERVER_LOG

log = logging.getLogger(__name__)


class AppTakenOver(Exception):
    """Another connection took the ARI application over: this process got no more events."""


async def serve(settings: Settings, stop: asyncio.Event, *, part: str = "all") -> None:
    """Run until `stop` is set. `part`: "all" (Stasis app and web pages in one process),
    "stasis" (the Stasis app, serving the web process over web.rpc_url), or "web" (the pages,
    reaching the Stasis process over web.rpc_url)."""
    if part != "all" and not settings.web.rpc_secret:
        raise ConfigError(["web.rpc_secret (PBX_RPC_SECRET): required to split web and Stasis"])
    db = Database.connect(settings.database.url)
    bus = Bus()
    app = StasisApp(settings, db, bus) if part != "web" else None
    lock = AppLock(app.ari.base_url, settings.ari.app) if app is not None else None
    if lock is not None:
        try:  # before connecting: a second process must not take the app over
            lock.acquire()
        except AppInUse:
            await db.dispose()
            raise
    runners: list[web.AppRunner] = []
    tasks: list[asyncio.Task[None]] = []
    session = ClientSession()

    async def site(web_app: web.Application, host: str, port: int, setting: str) -> None:
        runner = web.AppRunner(web_app, access_log=None, logger=SERVER_LOG)
        await runner.setup()
        runners.append(runner)
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:  # port in use, unknown host, address not on this machine
            raise ConfigError([f"{setting}: cannot listen on {host}:{port}: "
                               f"{exc.strerror or exc}"]) from None

    started = False
    web_up = False

    async def pages(offered: list[Offered[Any]]) -> None:
        context = WebContext(db=db, bus=bus, settings=settings)
        served = web_app(context, offered)
        if app is not None:
            app.watched_by(served[HEALTH])
        else:  # ready while the Stasis process says it is
            served[HEALTH].add_check("stasis", stasis_ready(settings.web.rpc_url, session))
        await site(served, settings.web.host, settings.web.port,
                   "web.host, web.port (PBX_WEB_HOST, PBX_WEB_PORT)")
        log.info("web pages at http://%s:%d/", settings.web.host, settings.web.port)

    try:
        offered: list[Offered[Any]]
        if app is not None:
            ws_url, domain = websocket_sip_url(settings.ari.url, settings.edge.websocket)
            center = LiveContactCenter(db, bus, app.acd, app.ivr, ws_url=ws_url,
                                       sip_domain=domain, dial=app.agent_calls.dial,
                                       pause_reasons=settings.agents.pause_reasons)
            offered = app.offered(center)

            async def meanwhile() -> None:  # the pages answer 503 with a reason meanwhile
                nonlocal web_up
                if part == "all" and settings.web.enabled:
                    await pages(offered)
                    web_up = True

            if not await _database_answers(db, stop, meanwhile):
                return  # stopped before the database ever answered
            await app.start()
            started = True
            log.info("pbx-stasis running: ARI %s app %s, database %s",
                     app.ari.base_url, settings.ari.app, db.backend)
            tasks.extend(asyncio.create_task(watcher(db, settings))
                         for plugin in PLUGINS for watcher in plugin.watchers)
            if part == "stasis":
                rpc = urlsplit(settings.web.rpc_url)
                served = rpc_app(bus, settings.web.rpc_secret, INTERFACES, offered, TOPICS)
                # The Stasis process's own /healthz, /readyz and /metrics, beside its RPC.
                health = Health({"database": database_check(db)},
                                token=settings.web.metrics_token)
                app.watched_by(health)
                add_health(served, health)
                await site(served, rpc.hostname or "127.0.0.1", rpc.port or 8099,
                           "web.rpc_url (PBX_RPC_URL)")
                log.info("serving the web process at %s", settings.web.rpc_url)
        else:  # the Stasis process's services, through proxies made from their interfaces
            rpc_url, secret = settings.web.rpc_url, settings.web.rpc_secret
            offered = [Offered(interface, proxy(interface, rpc_url, secret, session))
                       for interface in INTERFACES]
            tasks.append(asyncio.create_task(relay_events(rpc_url, secret, bus, session,
                                                          TOPICS)))
        if part != "stasis" and settings.web.enabled and not web_up:
            await pages(offered)
        # What is alive now (modules, SQLAlchemy's caches, configuration, agents) lives as long
        # as the process: frozen, a full garbage collection, which stops the event loop, walks
        # only what calls created since (a full pass over the ~116k objects of a started app
        # took 46 ms, measured in the benchmark's process).
        gc.freeze()
        await _until_stopped(stop, app)
        if app is not None:
            log.info("stopping: %d live call(s)", app.router.live_calls)
    finally:
        for task in tasks:
            task.cancel()
        # Before the database goes: a retention sweep cancelled mid-query must give its
        # connection back first, or the process hangs at exit (SIGTERM right after start).
        await asyncio.gather(*tasks, return_exceptions=True)
        for runner in runners:
            await runner.cleanup()
        if app is not None and started:
            await app.stop()
        await session.close()
        await db.dispose()
        if lock is not None:
            lock.release()
    if app is not None and app.taken_over.is_set():
        raise AppTakenOver(
            f"another connection took over the ARI application {settings.ari.app!r} at "
            f"{app.ari.base_url}: this process got no more events, so it stopped (is a "
            f"second pbx run, on another machine, using the same app?)")


async def _database_answers(db: Database, stop: asyncio.Event,
                            meanwhile: Callable[[], Awaitable[None]]) -> bool:
    """Until the database answers (True), or `stop` (False). The app's start reads the tenant,
    queues, agents, flows and logins: it waits for them here rather than failing, while the
    web answers 503 (`database-unavailable`) and callers wait in the dialplan's hold
    (PBX_AWAY_HOLD_S; refused after it, and recorded once the app is up). A database that
    answers with an error (a wrong password) still stops the start."""
    delay, warned = 1.0, False
    while not stop.is_set():
        try:
            await db.ping()
        except StoreUnavailable as exc:
            if not warned:
                log.warning("the database does not answer (%s): the web answers 503 and "
                            "calls wait in the dialplan's hold until it does; retrying", exc)
                warned = True
                await meanwhile()
        else:
            if warned:
                log.info("the database answers: starting")
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 10.0)
    return False


async def _until_stopped(stop: asyncio.Event, app: StasisApp | None) -> None:
    """Until `stop` is set, or the app lost its ARI application to another connection: running
    on without events would leave every call unanswered (no tug of war either: reconnecting
    would take the app back from the other process, which would take it back again)."""
    waits = [asyncio.create_task(stop.wait())]
    if app is not None:
        waits.append(asyncio.create_task(app.taken_over.wait()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    if app is not None and app.taken_over.is_set():
        log.error("another connection took over ARI application %r: stopping",
                  app.settings.ari.app)
