"""Wiring of the running service: database, bus, ARI client, event stream and call handling."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pbx_stasis.ari import AriClient, Channel, EventStream
from pbx_stasis.ari.models import Event
from pbx_stasis.bus import Bus
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.inbound import CallScript, greeting_script, run_call
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

    def __init__(self, settings: Settings, db: Database, bus: Bus) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.ari = AriClient(ari_root(settings.ari.url), settings.ari.user, settings.ari.password)
        self.calls = CallLog(db, bus)
        self.router = CallRouter(self._on_call)
        self.events = EventStream(
            self.ari, settings.ari.app, self.router.on_event, on_connect=self._on_connect
        )
        self.tenant_id = 0
        self._script: CallScript = greeting_script(settings.calls.greeting)

    async def start(self) -> None:
        tenant = await Directory(self.db).ensure_tenant(self.settings.calls.tenant)
        self.tenant_id = tenant.id
        self.events.start()

    async def stop(self, grace: float = 5.0) -> None:
        await self.router.shutdown(grace)
        await self.events.close()
        await self.ari.close()

    def health(self) -> Health:
        stats = self.events.stats
        return Health(stats.connected, self.router.live_calls, stats.reconnects)

    async def _on_call(self, inbox: EventInbox, start: Event) -> None:
        await run_call(
            self.ari, self.calls, inbox, start, tenant_id=self.tenant_id, script=self._script
        )

    async def _on_connect(self) -> None:
        await resync(self.ari, self.settings.ari.app, self.router, self.calls, self._adopt)

    def _adopt(self, channel: Channel, record: CallRecord | None) -> None:
        start: Event = {"type": "StasisStart", "channel": dict(channel), "args": []}

        async def handle(inbox: EventInbox, start: Event) -> None:
            await run_call(self.ari, self.calls, inbox, start, tenant_id=self.tenant_id,
                           script=self._script, record=record, adopted=True)

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
