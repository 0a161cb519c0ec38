"""The Stasis side's composition root: the ARI client and event stream, the call router, and each
feature's live service (the ACD, the IVR, supervision, recording, agents' outside calls, the
adoption of calls found at a (re)connect), wired together; `pbx run` (cli/run.py) starts it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from pbx_stasis.acd.directory import AgentRecord
from pbx_stasis.acd.runner import AcdService
from pbx_stasis.acd.service import ACD_SERVICE
from pbx_stasis.ari import AriClient, AriError, EventStream
from pbx_stasis.ari.metrics import StreamCollector
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.ari.nodes import ClusterAri, ClusterStreams, node_lost_event
from pbx_stasis.ari.request_sockets import RequestSockets
from pbx_stasis.bus import Bus
from pbx_stasis.callbacks.service import CallbackService
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.inbound import (
    CallScript,
    dialed_number,
    greeting_script,
    run_call,
    stasis_args,
)
from pbx_stasis.calls.records import CallLog
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.campaigns.dialer import CampaignDialer
from pbx_stasis.center.metrics import CenterCollector
from pbx_stasis.center.service import ContactCenter
from pbx_stasis.config import Settings
from pbx_stasis.crm.dispositions import Dispositions
from pbx_stasis.dialing import DialPolicies
from pbx_stasis.dialing.compliance_store import Compliance
from pbx_stasis.ivr.addresses import public_session
from pbx_stasis.ivr.runner import FlowTools
from pbx_stasis.ivr.service import FLOW_SERVICE, IvrService
from pbx_stasis.leads.service import LeadLists
from pbx_stasis.masking.agents import MaskedAgents
from pbx_stasis.outbound.agent_calls import AgentCalls
from pbx_stasis.quality.watcher import CallQuality
from pbx_stasis.recording.recorder import CallRecorder
from pbx_stasis.recording.service import RECORDING_SERVICE
from pbx_stasis.recording.store import RecordingStore
from pbx_stasis.remote.interfaces import Offered
from pbx_stasis.reports.store import journal_rows
from pbx_stasis.restart.adoption import Adoption
from pbx_stasis.restart.away import AwayCall, AwayCalls
from pbx_stasis.store import Database, Directory
from pbx_stasis.store.metrics import WriterCollector
from pbx_stasis.store.polling import poll
from pbx_stasis.supervision import Supervision
from pbx_stasis.supervision.service import SUPERVISION_SERVICE
from pbx_stasis.transfer.outside import TrunkLine
from pbx_stasis.virtualnumbers.service import MaskedCalls, VirtualNumbers
from pbx_stasis.web.health import Health

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
        self.calls = CallLog(db, bus)
        # Set when another connection took the ARI application over: this process is deaf
        # from then on, and `pbx run` exits (cli/run.py) rather than run without events.
        self.taken_over = asyncio.Event()
        self.events: EventStream | ClusterStreams
        self.ari: AriClient
        if settings.ari.nodes:  # several Asterisk nodes (ari/nodes.py)
            cluster = ClusterAri({name: ari_root(url) for name, url in settings.ari.nodes},
                                 settings.ari.user, settings.ari.password)
            self.ari = cluster
            self.router = CallRouter(self._on_call, in_flight=cluster.in_flight)
            self.events = ClusterStreams(
                cluster, settings.ari.app, self.router.on_event, on_connect=self._on_connect,
                on_replaced=self.taken_over.set, on_node_lost=self._node_lost)
            self.request_sockets = [
                RequestSockets(client, settings.ari.app, settings.ari.request_sockets)
                for client in cluster.nodes.values()]
        else:
            self.ari = AriClient(ari_root(settings.ari.url), settings.ari.user,
                                 settings.ari.password)
            self.router = CallRouter(self._on_call, in_flight=self.ari.in_flight)
            self.events = EventStream(
                self.ari, settings.ari.app, self.router.on_event, on_connect=self._on_connect,
                on_replaced=self.taken_over.set,
            )
            self.request_sockets = [
                RequestSockets(self.ari, settings.ari.app, settings.ari.request_sockets)]
        self.dialing = DialPolicies(db, settings.crm.region)
        # Do-not-call lists and calling hours (a lead's own time zone from its list).
        self.compliance = Compliance(db, settings.crm.region,
                                     zone_of=LeadLists(db).zone_of)
        self.line = TrunkLine(self.ari, self.router, settings.ari.app, self.dialing,
                              caller_id=settings.trunk.caller_id, compliance=self.compliance)
        self.acd = AcdService(
            self.ari, self.router, db, bus, settings.ari.app, line=self.line, clock=clock,
            edge=settings.edge.sip or None,
        )
        self.router.listeners["DeviceStateChanged"] = self.acd.on_device_state
        self.callbacks = CallbackService(db, self.acd, self.line, self.ari, settings.ari.app,
                                         clock=clock, bus=bus)
        self.acd.serve_callbacks(self.callbacks)
        self.campaigns = CampaignDialer(self.ari, self.router, db, self.calls, self.acd,
                                        self.line, settings.ari.app, clock=clock, bus=bus)
        self.recordings = RecordingStore(db, settings.recordings.dir, bus=bus)
        self.supervision = Supervision(self.ari, self.router, db, settings.ari.app)
        self.recorder = CallRecorder(self.ari, db, self.recordings, router=self.router,
                                     app=settings.ari.app)
        self.quality = CallQuality(self.ari, db, bus)
        self.acd.talk_watchers += [self.supervision, self.recorder, self.quality]
        # Calls to the tenants' virtual numbers (masked two-party calls).
        self.masked = MaskedCalls(VirtualNumbers(db), self.line, self.acd)
        self.line.virtual_numbers = self.masked.store.numbers
        # Agents whose role sees numbers masked are rung without the caller's whole number.
        self.masked_agents = MaskedAgents(db)
        self.acd.mask_callers(self.masked_agents.caller_id)
        self.supervision.shown = self.masked_agents.shown
        self.ivr = IvrService(db, bus, self.ari, internal_lookups=settings.ivr.internal_lookups)
        self.agent_calls = AgentCalls(self.ari, db, self.acd, self.line, self.dialing,
                                      settings.ari.app)
        self.agent_calls.ended.append(self.campaigns.preview_ended)  # a preview's outcome
        self.adoption = Adoption(
            self.ari, settings.ari.app, self.router, self.calls, self.acd, self.supervision,
            self.recorder, agent_of=self.agent_calls.agent_of,
            default=lambda: (self.tenant_id, self._default_script), new_call=self._on_call)
        # A masked call carried over a restart journals its end against its mapping.
        self.adoption.conversation_ended.append(self.masked.carried_over_ended)
        self.away = AwayCalls(self.ari, self.calls, self._tenant_of, self._count_away)
        self.tenant_id = 0  # the default tenant: calls that no flow or agent claims
        self._default_script: CallScript = script or greeting_script(settings.calls.greeting)
        self._clock = clock
        self._http: aiohttp.ClientSession | None = None
        self._public_http: aiohttp.ClientSession | None = None
        self.unused_events: tuple[str, ...] = UNUSED_EVENTS  # a benchmark may want some back
        self._followers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        tenant = await Directory(self.db).ensure_tenant(self.settings.calls.tenant)
        self.tenant_id = tenant.id
        await self.recorder.policies.load()  # known through a database outage later
        self._http = aiohttp.ClientSession()
        self._public_http = public_session()
        self.ivr.tools = FlowTools(
            http=self._http,
            public_http=self._public_http,
            recordings=self.recordings,
            desk=self.acd,
            line=self.line,
            callbacks=self.callbacks,
            clock=lambda: datetime.fromtimestamp(self._clock(), UTC),
        )
        await self.ivr.start()
        await self.masked.start()
        await self.masked_agents.start()
        # Today's figures on the wallboard go on from the journal (the reports' reader).
        await self.acd.start(today=functools.partial(journal_rows, self.db, since_start=True))
        await self.callbacks.start()  # pending callbacks back in their places
        await self.campaigns.start()
        self._followers.append(asyncio.create_task(self._follow_dispositions()))
        for sockets in self.request_sockets:
            sockets.start()
        self.events.start()

    async def stop(self, grace: float = 5.0) -> None:
        for task in self._followers:
            task.cancel()
        await asyncio.gather(*self._followers, return_exceptions=True)
        await asyncio.gather(self.campaigns.stop(grace), self.router.shutdown(grace))
        await self.supervision.close()
        await self.recorder.drain()
        await self.quality.close()
        await self.events.close()
        for sockets in self.request_sockets:
            await sockets.close()
        await self.callbacks.stop()
        await self.acd.stop()
        await self.ivr.stop()
        await self.masked.stop()
        await self.masked_agents.stop()
        await self.db.writes.settle()  # the last calls' rows, before the process exits
        if self._http is not None:
            await self._http.close()
        if self._public_http is not None:
            await self._public_http.close()
        await self.ari.close()

    async def _follow_dispositions(self) -> None:
        """Tell the ACD which tenants ask a disposition in wrap-up (those with at least one),
        read now and then: a tenant that adds its first disposition or retires its last is
        followed within DISPOSITIONS_REFRESH seconds. Until the first read, every tenant does."""
        dispositions = Dispositions(self.db)

        async def read() -> None:
            self.acd.dispositions_in_use(await dispositions.tenants_in_use())

        await poll(read, DISPOSITIONS_REFRESH, "dispositions in use", wait_first=False)

    async def script_for(
        self, start: AriEvent
    ) -> tuple[int, AgentRecord | None, CallScript, str | None]:
        """Whose a new call is, what it runs and, for an agent's outbound call, the caller ID
        it presents (its record's from_number; None: the channel's caller). An agent's outbound
        call belongs to the agent's tenant; an inbound one to the tenant whose live IVR flow
        answers the dialled number, which runs it (else the default tenant and script); a call
        to a virtual number belongs to its tenant and is a masked two-party call."""
        args = stasis_args(start)
        if args[:1] == ["outbound"]:
            agent = self.agent_calls.agent_of(start)
            tenant_id = agent.tenant_id if agent is not None else self.tenant_id
            presented = await self.agent_calls.presented(start, agent, tenant_id)
            script = self.agent_calls.script(start, agent, presented)
            return tenant_id, agent, script, presented.number or "anonymous"
        number = dialed_number(start)
        owner = self.masked.tenant_of(number)
        if owner is not None:
            return owner, None, self.masked.run, None
        tenant_id = self._tenant_of(number)
        flow = self.ivr.script_for(tenant_id, number)
        return tenant_id, None, flow or self._default_script, None

    def _count_away(self, tenant_id: int, call_id: str, call: AwayCall) -> None:
        """A call the dialplan let go while the app was away counts in its number's queue."""
        queue = self.ivr.queue_for(tenant_id, call.to_number)
        if queue is not None:
            self.acd.count_away(tenant_id, queue, call_id, call.from_number,
                                call.since.timestamp(), call.ended.timestamp(), call.why)

    def _tenant_of(self, number: str) -> int:
        """The tenant whose live IVR flow answers `number` (else the default tenant)."""
        return self.ivr.tenant_for(number, prefer=self.tenant_id) or self.tenant_id

    def offered(self, center: ContactCenter) -> list[Offered[Any]]:
        """The services this process offers a web process of its own (or its own web app), by
        interface: the contact center as the ACD and the IVR's flows, live supervision and
        recording control."""
        return [Offered(ACD_SERVICE, center), Offered(FLOW_SERVICE, center),
                Offered(SUPERVISION_SERVICE, self.supervision),
                Offered(RECORDING_SERVICE, self.recorder)]

    def watched_by(self, health: Health) -> None:
        """Add this app's readiness (ARI connected and resynced) and its figures (the ARI
        link, the write-behind queue, calls and queues) to `health`."""

        async def ari_ready() -> str | None:
            return None if self.events.connected else "not connected"

        health.add_check("ari", ari_ready)
        health.register(StreamCollector(self.events))
        health.register(WriterCollector(self.db.writes))
        health.register(CenterCollector(self.calls, self.acd))

    async def _on_call(self, inbox: EventInbox, start: AriEvent) -> None:
        self.away.collect_soon([inbox.channel_id])  # when the last connect found no channel
        args = stasis_args(start)
        if args[:1] not in (["inbound"], ["outbound"]):
            # An agent leg or snoop left over from before a restart: nobody owns it any more.
            log.info("hanging up stray channel %s (args %s)", inbox.channel_id, args)
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(inbox.channel_id)
            return
        outbound = args[:1] == ["outbound"]
        tenant_id, agent, script, from_number = await self.script_for(start)
        await run_call(
            self.ari, self.calls, inbox, start, tenant_id=tenant_id, script=script,
            from_number=from_number,
            to_number=args[1] if outbound and len(args) > 1 else None,
            call_id=args[2] if outbound and len(args) > 2 else None,
            agent_user_id=agent.user_id if agent is not None else None,
        )

    def _node_lost(self, node: str) -> None:
        """An Asterisk node is gone (ari/nodes.py): the calls on it ended with it. Each of its
        channels' tasks is told so (ChannelDestroyed, cause `node-lost`), and the calls are
        recorded as ended by the system; their agents are free again."""
        assert isinstance(self.ari, ClusterAri)
        lost = self.ari.book.on_node(node, self.router.channel_ids())
        log.warning("node %s lost: ending %d channels", node, len(lost))
        for channel_id in lost:
            self.router.on_event(node_lost_event(channel_id, node))
        self.acd.forget_node(node)  # its view of the agents' phones goes with it

    async def _on_connect(self) -> None:
        await self.ari.applications.set_event_filter(self.settings.ari.app,
                                                     disallowed=self.unused_events)
        await self.adoption.on_connect()
        channels = await self.ari.channels.list()
        self.away.collect_soon([channel["id"] for channel in channels], connected=True)


DISPOSITIONS_REFRESH = 5.0
# Events no code reads, filtered out by Asterisk: each costs a JSON encode there and a decode and
# dispatch here (and stasis/stasis.conf spares Asterisk building the ChannelVarset ones, 37 of
# them). A queued call brings 53 events without the filter, 7 with it: StasisStart,
# StasisEnd and ChannelHangupRequest of both legs, ChannelDestroyed of the caller. When the
# caller hangs up first, 9: run_call subscribes the app to the caller's channel so that its
# ChannelDestroyed (the hangup cause) still comes after StasisEnd, with a last (soft)
# ChannelHangupRequest (measured, 5 calls).
UNUSED_EVENTS = (
    "ChannelVarset", "ChannelDialplan", "ChannelConnectedLine", "ChannelCallerId", "Dial",
    "ChannelStateChange", "ChannelEnteredBridge", "ChannelLeftBridge", "BridgeDestroyed",
)
