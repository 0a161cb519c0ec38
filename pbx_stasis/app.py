"""Wiring of the running service: database, bus, ARI client, event stream and call handling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pbx_stasis.acd.runner import AcdService
from pbx_stasis.ari import AriClient, AriError, Channel, EventStream
from pbx_stasis.ari.models import Event
from pbx_stasis.bus import Bus
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.inbound import CallScript, greeting_script, run_call, stasis_args
from pbx_stasis.calls.records import CallLog
from pbx_stasis.calls.resync import resync
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.config import Settings
from pbx_stasis.store import CallRecord, Database, Directory

log = logging.getLogger(__name__)


def ari_root(url: str) -> str:
    """Accept http://host:port as well as http://host:port/ari."""
    url = url.rstrip("/")
    return url if url.endswith("/ari") else url + "/ari"


@dataclass
class Health:
    ari_connected: bool
    live_calls: int
    reconnects: int


class StasisApp:
    """The Stasis application `settings.ari.app`: takes every call Asterisk hands it."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        *,
        script: CallScript | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.ari = AriClient(ari_root(settings.ari.url), settings.ari.user, settings.ari.password)
        self.calls = CallLog(db, bus)
        self.router = CallRouter(self._on_call)
        self.events = EventStream(
            self.ari, settings.ari.app, self.router.on_event, on_connect=self._on_connect
        )
        self.acd = AcdService(self.ari, self.router, db, bus, settings.ari.app, clock=clock)
        self.router.listeners["EndpointStateChange"] = self.acd.on_endpoint_event
        self.tenant_id = 0
        self._default_script: CallScript = script or greeting_script(settings.calls.greeting)

    async def start(self) -> None:
        tenant = await Directory(self.db).ensure_tenant(self.settings.calls.tenant)
        self.tenant_id = tenant.id
        await self.acd.start()
        self.events.start()

    async def stop(self, grace: float = 5.0) -> None:
        await self.router.shutdown(grace)
        await self.events.close()
        await self.acd.stop()
        await self.ari.close()

    def script_for(self, start: Event) -> CallScript:
        """What a new call runs: the IVR flow of the dialled number, else the default."""
        return self._default_script

    def health(self) -> Health:
        stats = self.events.stats
        return Health(stats.connected, self.router.live_calls, stats.reconnects)

    async def _on_call(self, inbox: EventInbox, start: Event) -> None:
        kind = stasis_args(start)[:1]
        if kind not in (["inbound"], ["outbound"]):
            # An agent leg or snoop left over from before a restart: nobody owns it any more.
            log.info("hanging up stray channel %s (args %s)", inbox.channel_id, kind)
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(inbox.channel_id)
            return
        await run_call(
            self.ari, self.calls, inbox, start, tenant_id=self.tenant_id,
            script=self.script_for(start),
        )

    async def _on_connect(self) -> None:
        await resync(self.ari, self.settings.ari.app, self.router, self.calls, self._adopt)
        await self.acd.on_connect()

    def _adopt(self, channel: Channel, record: CallRecord | None) -> None:
        start: Event = {"type": "StasisStart", "channel": dict(channel), "args": []}

        async def handle(inbox: EventInbox, start: Event) -> None:
            await run_call(self.ari, self.calls, inbox, start, tenant_id=self.tenant_id,
                           script=self.script_for(start), record=record, adopted=True)

        self.router.start_call(start, handle)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run until `stop` is set: the Stasis app (and, later, the web sidecar)."""
    db = Database.connect(settings.database.url)
    bus = Bus()
    app = StasisApp(settings, db, bus)
    try:
        await app.start()
        log.info("pbx-stasis running: ARI %s app %s, database %s",
                 app.ari.base_url, settings.ari.app, db.backend)
        await stop.wait()
        log.info("stopping: %d live call(s)", app.router.live_calls)
    finally:
        await app.stop()
        await db.dispose()
