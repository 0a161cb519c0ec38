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
from pbx_stasis.remote.client import Address, proxy, relay_events, stasis_ready
from pbx_stasis.remote.interfaces import Offered
from pbx_stasis.remote.server import rpc_app
from pbx_stasis.role.lease import RoleLease, active_controller, role_name
from pbx_stasis.store import Database, StoreUnavailable
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.health import HEALTH, Health, add_health, database_check
from pbx_stasis.web.serverlog import SERVER_LOG

log = logging.getLogger(__name__)


class AppTakenOver(Exception):
    """Another connection took the ARI application over: this process got no more events."""


class RoleLost(Exception):
    """This controller lost its role (taken, or not confirmed in time): it stopped acting."""


# How long a controller that just took the role waits for the file lock of the one it
# replaces on this machine (fenced: it is exiting).
APP_LOCK_WAIT_S = 10.0
# How often a web process reads where the active controller serves it.
FOLLOW_S = 0.5


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
    # PostgreSQL: active and standby controllers, the role leased there (role/); SQLite: one.
    role = (RoleLease(settings.database.url, role_name(settings.ari.app), settings.web.rpc_url)
            if app is not None and db.backend == "postgresql" else None)
    if lock is not None and role is None:
        try:  # before connecting: a second process must not take the app over
            lock.acquire()
        except AppInUse:
            await db.dispose()
            raise
    holding: asyncio.Task[str] | None = None  # while this controller holds the role
    address = Address(settings.web.rpc_url)  # where a web process reaches the controller
    runners: list[web.AppRunner] = []
    tasks: list[asyncio.Task[Any]] = []
    session = ClientSession()

    async def site(web_app: web.Application, host: str, port: int, setting: str, *,
                   shared: bool = False) -> None:
        runner = web.AppRunner(web_app, access_log=None, logger=SERVER_LOG)
        await runner.setup()
        runners.append(runner)
        try:  # `shared`: stateless web processes on one port, the kernel spreading browsers
            await web.TCPSite(runner, host, port, reuse_port=shared or None).start()
        except OSError as exc:  # port in use, unknown host, address not on this machine
            raise ConfigError([f"{setting}: cannot listen on {host}:{port}: "
                               f"{exc.strerror or exc}"]) from None

    started = False
    web_up = False
    standby: list[web.AppRunner] = []

    async def standby_site() -> None:
        """While this controller waits for the role: /healthz answers, /readyz says standby."""
        if standby or role is None:
            return
        health = Health({"database": database_check(db)}, token=settings.web.metrics_token)

        async def active() -> str | None:
            return f"standby: {role.standby_reason}" if role.standby_reason else None

        health.add_check("role", active)
        served = web.Application()
        add_health(served, health)
        if part == "all" and settings.web.enabled:
            where, setting = (settings.web.host, settings.web.port), "web.host, web.port"
        else:
            rpc = urlsplit(settings.web.rpc_url)
            where, setting = (rpc.hostname or "127.0.0.1", rpc.port or 8099), "web.rpc_url"
        await site(served, *where, setting)
        standby.append(runners.pop())

    async def end_standby() -> None:
        while standby:
            await standby.pop().cleanup()

    prebuilt: list[web.Application] = []

    def built(offered: list[Offered[Any]]) -> web.Application:
        context = WebContext(db=db, bus=bus, settings=settings)
        served = web_app(context, offered)
        if app is not None:
            app.watched_by(served[HEALTH])
        else:  # ready while the Stasis process says it is
            served[HEALTH].add_check("stasis", stasis_ready(address, session))
        return served

    async def pages(offered: list[Offered[Any]]) -> None:
        served = prebuilt.pop() if prebuilt else built(offered)
        await site(served, settings.web.host, settings.web.port,
                   "web.host, web.port (PBX_WEB_HOST, PBX_WEB_PORT)", shared=part == "web")
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
                if part == "all" and settings.web.enabled:  # a standby's too: no role known yet
                    await pages(offered)
                    web_up = True
                elif role is not None:
                    await standby_site()

            if not await _database_answers(db, stop, meanwhile):
                return  # stopped before the database ever answered
            if role is not None and lock is not None:
                if not web_up:  # (the pages, up since the database was away, answer already)
                    await standby_site()
                if part == "all" and settings.web.enabled and not web_up:  # ready for a
                    prebuilt.append(built(offered))  # takeover: building holds the loop ~1 s
                if not await role.acquire(stop):
                    return  # stopped while standby
                holding = asyncio.create_task(role.hold())
                tasks.append(holding)
                await end_standby()
                await _take_app_lock(lock, stop)
            await app.start()
            started = True
            log.info("pbx-stasis running: ARI %s app %s, database %s",
                     app.ari.base_url, settings.ari.app, db.backend)
            tasks.extend(asyncio.create_task(watcher(db, settings, bus))
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
            secret = settings.web.rpc_secret
            if db.backend == "postgresql":  # wherever the active controller is
                address.move(await active_controller(db, role_name(settings.ari.app))
                             or settings.web.rpc_url)
                tasks.append(asyncio.create_task(_follow_controller(db, settings, address)))
            offered = [Offered(interface, proxy(interface, address, secret, session))
                       for interface in INTERFACES]
            tasks.append(asyncio.create_task(relay_events(address, secret, bus, session,
                                                          TOPICS)))
        if part != "stasis" and settings.web.enabled and not web_up:
            await pages(offered)
        # What is alive now (modules, SQLAlchemy's caches, configuration, agents) lives as long
        # as the process: frozen, a full garbage collection, which stops the event loop, walks
        # only what calls created since (a full pass over the ~116k objects of a started app
        # took 46 ms, measured in the benchmark's process).
        gc.freeze()
        await _until_stopped(stop, app, holding)
        if holding is not None and holding.done():
            fenced = f"the controller role is lost ({holding.result()}): stopping at once"
            log.error("%s", fenced)
            if app is not None and started:
                started = False  # its calls stay in Asterisk, for the controller now active
                await app.stop(grace=0)
            raise RoleLost(fenced)
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
        await end_standby()
        await session.close()
        await db.dispose()
        if role is not None:
            await role.release()
        if lock is not None:
            lock.release()
    if app is not None and app.taken_over.is_set():
        raise AppTakenOver(
            f"another connection took over the ARI application {settings.ari.app!r} at "
            f"{app.ari.base_url}: this process got no more events, so it stopped (is a "
            f"second pbx run, on another machine, using the same app?)")


async def _take_app_lock(lock: AppLock, stop: asyncio.Event) -> None:
    """The file lock, once the role is ours: a controller fenced on this machine is exiting
    and lets it go (a process holding it past APP_LOCK_WAIT_S is not one: AppInUse)."""
    deadline = asyncio.get_running_loop().time() + APP_LOCK_WAIT_S
    while True:
        try:
            lock.acquire()
            return
        except AppInUse:
            if stop.is_set() or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.1)


async def _follow_controller(db: Database, settings: Settings, address: Address) -> None:
    """Keep `address` on the active controller's RPC URL, read from its role lease (a
    takeover moves it; a database outage keeps the last one)."""
    name = role_name(settings.ari.app)
    while True:
        await asyncio.sleep(FOLLOW_S)
        url = await active_controller(db, name)
        if url is not None:
            address.move(url)


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


async def _until_stopped(stop: asyncio.Event, app: StasisApp | None,
                         holding: asyncio.Task[str] | None = None) -> None:
    """Until `stop` is set, the app lost its ARI application to another connection (running
    on without events would leave every call unanswered; no tug of war either: reconnecting
    would take the app back from the other process, which would take it back again), or this
    controller lost its role (`holding` ended: it must stop acting)."""
    waits: list[asyncio.Future[Any]] = [asyncio.create_task(stop.wait())]
    if app is not None:
        waits.append(asyncio.create_task(app.taken_over.wait()))
    try:
        await asyncio.wait([*waits, *([holding] if holding else [])],
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    if app is not None and app.taken_over.is_set():
        log.error("another connection took over ARI application %r: stopping",
                  app.settings.ari.app)
