"""Wiring of the running service: database, bus, ARI client, event stream and call handling."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from pbx_stasis.acd.directory import AgentRecord
from pbx_stasis.acd.runner import QUEUE_BRIDGE, AcdService, queue_bridge_prefix
from pbx_stasis.ari import AriClient, AriError, Bridge, Channel, EventStream
from pbx_stasis.ari.client import HangupReason
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.ari.request_sockets import RequestSockets
from pbx_stasis.bus import Bus
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.handoff import QueueRequest
from pbx_stasis.calls.inbound import (
    Call,
    CallScript,
    dialed_number,
    greeting_script,
    run_call,
    stasis_args,
)
from pbx_stasis.calls.records import CallLog
from pbx_stasis.calls.resync import resync
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.config import ConfigError, Settings
from pbx_stasis.dialing import (
    Dialer,
    DialPolicies,
    DialRefused,
    PhoneNotRegistered,
    Verdict,
)
from pbx_stasis.ivr.addresses import public_session
from pbx_stasis.ivr.runner import FlowTools
from pbx_stasis.ivr.service import IvrService
from pbx_stasis.recording.recorder import CallRecorder
from pbx_stasis.recording.store import RecordingStore
from pbx_stasis.store import CallRecord, Database, Directory
from pbx_stasis.supervision import Supervision
from pbx_stasis.transfer.outside import TrunkLine

log = logging.getLogger(__name__)


def ari_root(url: str) -> str:
    """Accept http://host:port as well as http://host:port/ari."""
    url = url.rstrip("/")
    return url if url.endswith("/ari") else url + "/ari"


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
        self.request_sockets = RequestSockets(
            self.ari, settings.ari.app, settings.ari.request_sockets
        )
        self.dialing = DialPolicies(db, settings.crm.region)
        self.line = TrunkLine(self.ari, self.router, settings.ari.app, self.dialing)
        self.acd = AcdService(
            self.ari, self.router, db, bus, settings.ari.app, line=self.line, clock=clock
        )
        self.router.listeners["DeviceStateChanged"] = self.acd.on_device_state
        self.recordings = RecordingStore(db, settings.recordings.dir)
        self.supervision = Supervision(self.ari, self.router, db, settings.ari.app)
        self.recorder = CallRecorder(self.ari, db, self.recordings)
        self.acd.talk_watchers += [self.supervision, self.recorder]
        self.ivr = IvrService(db, bus, self.ari, internal_lookups=settings.ivr.internal_lookups)
        self.tenant_id = 0  # the default tenant: calls that no flow or agent claims
        self._default_script: CallScript = script or greeting_script(settings.calls.greeting)
        self._clock = clock
        self._http: aiohttp.ClientSession | None = None
        self._public_http: aiohttp.ClientSession | None = None
        self._bridges: list[Bridge] = []  # as they were at the last (re)connect
        self.unused_events: tuple[str, ...] = UNUSED_EVENTS  # a benchmark may want some back

    async def start(self) -> None:
        tenant = await Directory(self.db).ensure_tenant(self.settings.calls.tenant)
        self.tenant_id = tenant.id
        self._http = aiohttp.ClientSession()
        self._public_http = public_session()
        self.ivr.tools = FlowTools(
            http=self._http,
            public_http=self._public_http,
            recordings=self.recordings,
            desk=self.acd,
            line=self.line,
            clock=lambda: datetime.fromtimestamp(self._clock(), UTC),
        )
        await self.ivr.start()
        await self.acd.start()
        self.request_sockets.start()
        self.events.start()

    async def stop(self, grace: float = 5.0) -> None:
        await self.router.shutdown(grace)
        await self.supervision.close()
        await self.recorder.drain()
        await self.events.close()
        await self.request_sockets.close()
        await self.acd.stop()
        await self.ivr.stop()
        await self.db.writes.settle()  # the last calls' rows, before the process exits
        if self._http is not None:
            await self._http.close()
        if self._public_http is not None:
            await self._public_http.close()
        await self.ari.close()

    def script_for(self, start: AriEvent) -> tuple[int, AgentRecord | None, CallScript]:
        """Whose a new call is and what it runs: an agent's outbound call belongs to the agent's
        tenant; an inbound one to the tenant whose live IVR flow answers the dialled number,
        which runs it (else the default tenant and script)."""
        args = stasis_args(start)
        if args[:1] == ["outbound"]:
            agent = self._agent_of(start)
            tenant_id = agent.tenant_id if agent is not None else self.tenant_id
            return tenant_id, agent, self._outbound_script(start, agent)
        number = dialed_number(start)
        tenant_id = self.ivr.tenant_for(number, prefer=self.tenant_id) or self.tenant_id
        flow = self.ivr.script_for(tenant_id, number)
        return tenant_id, None, flow or self._default_script

    def _outbound_script(self, start: AriEvent, agent: AgentRecord | None) -> CallScript:
        """An agent calls out: from their phone (dialplan from-agents) or click-to-call (we rang
        their phone first). A number the tenant's dialling policy refuses is rejected unanswered
        (the phone gets 403 Forbidden, the journal DIAL_REFUSED with why). While the call lasts
        the agent is paused so no queue call is offered."""
        args = stasis_args(start)
        number = args[1] if len(args) > 1 else dialed_number(start)

        async def outbound(call: Call) -> None:
            dialer = await self._dialer(agent, call.record.tenant_id, number, call.record.id)
            verdict = None if dialer is None else await self.line.permit(
                call.record.tenant_id, number, dialer, call_id=call.record.id)
            if agent is None or verdict is None or not verdict.allowed:
                await call.note("OUTBOUND", number=number, reason="not_allowed",
                                agent=agent.username if agent else None)
                await call.hang_up(*REJECTED)
                return
            await call.answer()
            view = self.acd.core.agent(agent.agent_id)
            earlier_pause = view.paused if view is not None else None
            self.acd.pause(agent.agent_id, OUTBOUND_PAUSE)
            try:
                outcome = await self.line.connect_number(call, number, dialer=dialer)
                await call.note("OUTBOUND", number=number, reason=outcome.reason,
                                agent=agent.username)
            finally:  # back to how the agent was (e.g. still on a break)
                if earlier_pause is not None:
                    self.acd.pause(agent.agent_id, earlier_pause)
                else:
                    self.acd.unpause(agent.agent_id)

        return outbound

    async def _dialer(self, agent: AgentRecord | None, tenant_id: int, number: str,
                      call_id: str | None = None) -> Dialer | None:
        """The user behind an agent's phone, as the dialling policy sees them; None (and a
        DIAL_REFUSED line) for a phone that is nobody's or a disabled account's."""
        user = None
        if agent is not None:
            user = await Directory(self.db).get_user_by_id(agent.user_id)
        if agent is not None and user is not None and not user.disabled:
            return Dialer(user.id, user.username, user.role)
        reason, message = (
            ("unknown-phone", "the phone placing the call is no agent's") if agent is None
            else ("disabled", f"the account of {agent.username} is disabled"))
        self.dialing.journal_refusal(
            tenant_id, number, Verdict(False, reason, message), call_id=call_id,
            agent_user_id=agent.user_id if agent else None,
            by=agent.username if agent else None)
        return None

    def _agent_of(self, start: AriEvent) -> AgentRecord | None:
        """The agent whose phone a channel is (PJSIP/agent-17-0000002a)."""
        name = str((start.get("channel") or {}).get("name", ""))
        endpoint = name.removeprefix("PJSIP/").rsplit("-", 1)[0]
        for agent in self.acd.agents.values():
            if agent.endpoint == endpoint:
                return agent
        return None

    async def dial(self, agent: AgentRecord, number: str, call_id: str) -> None:
        """Click-to-call: ring the agent's own phone (answered by itself, the softphone sees
        X-PBX-Auto-Answer), then the number once they are on the line.

        Raises DialRefused when the tenant's dialling policy refuses the number (journaled),
        PhoneNotRegistered when there is no phone to ring."""
        dialer = await self._dialer(agent, agent.tenant_id, number)
        if dialer is None:
            raise DialRefused(Verdict(False, "disabled", "your account is disabled"))
        verdict = await self.line.permit(agent.tenant_id, number, dialer)
        if not verdict.allowed:
            raise DialRefused(verdict)
        if not await self._phone_registered(agent):
            raise PhoneNotRegistered()
        try:
            await self.ari.channels.originate(
                f"PJSIP/{agent.endpoint}",
                app=self.settings.ari.app,
                app_args=["outbound", number, call_id],
                caller_id=f'"{number}" <{number}>',
                dial_timeout=30,
                variables={
                    "PJSIP_HEADER(add,X-PBX-Auto-Answer)": "yes",
                    "PJSIP_HEADER(add,X-PBX-Call-Id)": call_id,
                },
            )
        except AriError as exc:
            # Asterisk answers 500 "Allocation failed" for an endpoint without a contact: the
            # phone went away between the check and the originate.
            if not await self._phone_registered(agent):
                raise PhoneNotRegistered() from exc
            raise

    async def _phone_registered(self, agent: AgentRecord) -> bool:
        """Whether the agent's phone can be rung: a desk phone at a fixed address always, a
        softphone while it has a registered contact (endpoint state `online`)."""
        if agent.contact:
            return True
        try:
            endpoint = await self.ari.endpoints.get("PJSIP", agent.endpoint)
        except AriError as exc:
            if exc.status == 404:  # not provisioned (yet): nothing to ring either
                return False
            raise
        return endpoint.get("state") == "online"

    async def _on_call(self, inbox: EventInbox, start: AriEvent) -> None:
        args = stasis_args(start)
        if args[:1] not in (["inbound"], ["outbound"]):
            # An agent leg or snoop left over from before a restart: nobody owns it any more.
            log.info("hanging up stray channel %s (args %s)", inbox.channel_id, args)
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(inbox.channel_id)
            return
        outbound = args[:1] == ["outbound"]
        tenant_id, agent, script = self.script_for(start)
        await run_call(
            self.ari, self.calls, inbox, start, tenant_id=tenant_id, script=script,
            to_number=args[1] if outbound and len(args) > 1 else None,
            call_id=args[2] if outbound and len(args) > 2 else None,
            agent_user_id=agent.user_id if agent is not None else None,
        )

    async def _on_connect(self) -> None:
        await self.ari.applications.set_event_filter(self.settings.ari.app,
                                                     disallowed=self.unused_events)
        # Supervision legs from before a restart would otherwise be adopted as conversations.
        await self.supervision.clear_leftovers()
        self._bridges = await self.ari.bridges.list()  # once for every channel adopted below
        await resync(self.ari, self.settings.ari.app, self.router, self.calls, self._adopt)
        # Queue bridges nobody waits in: callers who heard ringing (adopted above from the
        # list), or calls that ended while the app was away.
        for bridge in self._bridges:
            if (bridge["id"].startswith(QUEUE_BRIDGE) and not bridge["channels"]
                    and not self.acd.owns_bridge(bridge["id"])):
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge["id"])
        await self.acd.on_connect()

    def _adopt(self, channel: Channel, record: CallRecord | None) -> None:
        """A channel in Stasis that no task handles: the app restarted under it."""
        start: AriEvent = {"type": "StasisStart", "channel": dict(channel), "args": []}

        async def handle(inbox: EventInbox, start: AriEvent) -> None:
            partners = await self._partners(channel["id"])
            if partners:
                await self._let_conversation_finish(inbox, start, record, partners)
                return
            if record is None:  # an agent or consultation leg left ringing: nothing to resume
                with contextlib.suppress(AriError):
                    await self.ari.channels.hangup(channel["id"])
                return
            script = self._default_script
            waiting = self._queue_stay(record.id)
            if waiting is not None:
                script = self._back_in_queue(waiting)
            await run_call(self.ari, self.calls, inbox, start, tenant_id=self.tenant_id,
                           script=script, record=record, adopted=True)

        self.router.start_call(start, handle)

    async def _partners(self, channel_id: str) -> list[str]:
        """The other channels bridged with this one; queue bridges where it waits alone are
        destroyed (a new stay gets a new bridge)."""
        partners: list[str] = []
        for bridge in self._bridges:
            if channel_id not in bridge["channels"]:
                continue
            others = [c for c in bridge["channels"] if c != channel_id]
            if others:
                partners += others
            else:
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge["id"])
        return partners

    async def _let_conversation_finish(self, inbox: EventInbox, start: AriEvent,
                                       record: CallRecord | None, partners: list[str]) -> None:
        """A caller and an agent were talking when the app stopped: let them, then end the
        call for both sides. The agent is kept out of the queues meanwhile."""
        agent = self._agent_of(start)
        if agent is not None:
            self.acd.pause(agent.agent_id, ADOPTED_PAUSE)
        try:
            with contextlib.suppress(ChannelGone):
                await inbox.wait_for(lambda _: False)
        finally:
            for partner in partners:
                with contextlib.suppress(AriError):
                    await self.ari.channels.hangup(partner)
            if agent is not None:
                self.acd.unpause(agent.agent_id)
            if record is not None:
                await self.calls.close(record, cause=inbox.hangup.cause,
                                       cause_text=inbox.hangup.cause_text,
                                       hung_up_by="unknown", data={"adopted": True})
                stay = [b["id"] for b in self._bridges
                        if b["id"].startswith(queue_bridge_prefix(record.id))]
                await self.recorder.file_adopted(record.tenant_id, record.id, stay)

    def _queue_stay(self, call_id: str) -> QueueRequest | None:
        """The queue a call waited in when the app stopped, from its queue bridge's name."""
        for bridge in self._bridges:
            if bridge["id"].startswith(queue_bridge_prefix(call_id)):
                return QueueRequest.from_bridge_name(str(bridge.get("name", "")))
        return None

    def _back_in_queue(self, request: QueueRequest) -> CallScript:
        async def wait_again(call: Call) -> None:
            await call.note("ADOPTED", action="queue", queue=request.queue)
            await self.acd.enqueue(call, request)

        return wait_again


ADOPTED_PAUSE = "call in progress"
# How an outside call the dialling policy refused is ended: Q.850 21, which a SIP phone gets
# as 403 Forbidden (nothing was answered, nothing reached the trunk).
REJECTED: tuple[HangupReason, int, str] = ("rejected", 21, "Call Rejected")
# Events no code reads, filtered out by Asterisk: each costs a JSON encode there and a decode and
# dispatch here. A queued call brings 53 events without the filter, 7 with it: StasisStart,
# StasisEnd and ChannelHangupRequest of both legs, ChannelDestroyed of the caller.
UNUSED_EVENTS = (
    "ChannelVarset", "ChannelDialplan", "ChannelConnectedLine", "ChannelCallerId", "Dial",
    "ChannelStateChange", "ChannelEnteredBridge", "ChannelLeftBridge", "BridgeDestroyed",
)
OUTBOUND_PAUSE = "outbound call"




async def serve(settings: Settings, stop: asyncio.Event, *, part: str = "all") -> None:
    """Run until `stop` is set. `part`: "all" (Stasis app and web pages in one process),
    "stasis" (the Stasis app, serving the web process over web.rpc_url), or "web" (the pages,
    reaching the Stasis process over web.rpc_url)."""
    from aiohttp import ClientSession, web

    from pbx_stasis.center.live import LiveContactCenter, websocket_sip_url
    from pbx_stasis.center.service import ContactCenter
    from pbx_stasis.plugins import PLUGINS, web_app
    from pbx_stasis.remote.client import proxy, relay_events
    from pbx_stasis.remote.interfaces import CENTER, RECORDING, SUPERVISION, Offered
    from pbx_stasis.remote.server import rpc_app
    from pbx_stasis.web.app import WebContext
    from pbx_stasis.web.serverlog import SERVER_LOG

    if part != "all" and not settings.web.rpc_secret:
        raise ConfigError(["web.rpc_secret (PBX_RPC_SECRET): required to split web and Stasis"])
    db = Database.connect(settings.database.url)
    bus = Bus()
    app = StasisApp(settings, db, bus) if part != "web" else None
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

    try:
        center: ContactCenter
        if app is not None:
            await app.start()
            log.info("pbx-stasis running: ARI %s app %s, database %s",
                     app.ari.base_url, settings.ari.app, db.backend)
            tasks.extend(asyncio.create_task(watcher(db, settings))
                         for plugin in PLUGINS for watcher in plugin.watchers)
            ws_url, domain = websocket_sip_url(settings.ari.url)
            center = LiveContactCenter(db, bus, app.acd, app.ivr, ws_url=ws_url,
                                       sip_domain=domain, dial=app.dial,
                                       pause_reasons=settings.agents.pause_reasons)
            if part == "stasis":
                rpc = urlsplit(settings.web.rpc_url)
                await site(rpc_app(bus, settings.web.rpc_secret, Offered(CENTER, center),
                                   Offered(SUPERVISION, app.supervision),
                                   Offered(RECORDING, app.recorder)),
                           rpc.hostname or "127.0.0.1", rpc.port or 8099,
                           "web.rpc_url (PBX_RPC_URL)")
                log.info("serving the web process at %s", settings.web.rpc_url)
        else:
            center = proxy(CENTER, settings.web.rpc_url, settings.web.rpc_secret, session)
            tasks.append(asyncio.create_task(relay_events(
                settings.web.rpc_url, settings.web.rpc_secret, bus, session)))
        if part != "stasis" and settings.web.enabled:
            context = WebContext(db=db, bus=bus, settings=settings)
            if app is not None:  # live supervision and recording control need the app itself
                sidecar = web_app(context, center, supervision=app.supervision,
                                  recorder=app.recorder)
            else:  # ... or the Stasis process, over the same channel as the ContactCenter
                rpc_url, secret = settings.web.rpc_url, settings.web.rpc_secret
                sidecar = web_app(context, center,
                                  supervision=proxy(SUPERVISION, rpc_url, secret, session),
                                  recorder=proxy(RECORDING, rpc_url, secret, session))
            await site(sidecar, settings.web.host, settings.web.port,
                       "web.host, web.port (PBX_WEB_HOST, PBX_WEB_PORT)")
            log.info("web pages at http://%s:%d/", settings.web.host, settings.web.port)
        # What is alive now (modules, SQLAlchemy's caches, configuration, agents) lives as long
        # as the process: frozen, a full garbage collection, which stops the event loop, walks
        # only what calls created since (a full pass over the ~116k objects of a started app
        # took 46 ms, measured in the benchmark's process).
        gc.freeze()
        await stop.wait()
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
        if app is not None:
            await app.stop()
        await session.close()
        await db.dispose()
