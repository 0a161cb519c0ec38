"""The ACD's single owner: one task feeds the pure core and carries its actions out over ARI.

Every decision (which agent, when to ring, who wins a double answer) is the core's, made one
event at a time in `_own`; this module only turns ARI events into core events and core actions
into ARI requests. The owner sends only the originate of an agent's leg (written to the socket
in its own turn, the answer awaited by the leg's task); every other request runs in the call's
lane (a serial executor), so one slow request delays only its own call.

A waiting caller sits alone in a mixing bridge of their own with music on hold; the chosen
agent's leg is originated into Stasis and, once answered, added to that bridge, so the caller
hears music until the very moment the agent is there (no dead air, no re-bridging). A caller
who arrives unanswered hears ringing instead while the first agent's phone rings, and is
answered and bridged with the agent in one go; when that offer ends unanswered (or nobody is
free) they are seated: answered, in the bridge, with music.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.actions import (
    Action,
    Announce,
    CancelOffer,
    Connect,
    Journal,
    JournalEvent,
    LeaveEmpty,
    Offer,
    Overflow,
    RejectJoin,
    StartMoh,
)
from pbx_stasis.acd.core import Acd
from pbx_stasis.acd.directory import AcdDirectory, AgentRecord, queue_key, split_queue_key
from pbx_stasis.acd.figures import QueueRules
from pbx_stasis.acd.model import OverflowTarget, QueueConfig, personal_queue
from pbx_stasis.acd.provision import provision, provision_all
from pbx_stasis.acd.publisher import DISPOSITION_PENDING, AcdPublisher
from pbx_stasis.acd.stats import Stats
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.models import Event
from pbx_stasis.bus import Bus
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.events import (
    CALL_INCOMING,
    CALL_STATE,
    CallRinging,
    CallUpdated,
    CallView,
)
from pbx_stasis.calls.handoff import Outcome, OutsideLine, QueueRequest
from pbx_stasis.calls.inbound import Call
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.store import Database, NewEvent
from pbx_stasis.store.tables import CallEvent

log = logging.getLogger(__name__)
C = TypeVar("C", bound=CallView)

ANNOUNCEMENT = "ann-"  # playback id prefix of position announcements
# Device states of a phone that cannot take a call (no registered contact).
UNREACHABLE_DEVICE = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN"})
# SIP-ish hangup causes of an unanswered agent leg -> what the core is told
_BUSY = {17: "busy", 21: "declined"}
_NO_ANSWER = {18, 19}
_COMPLETE = {JournalEvent.COMPLETECALLER, JournalEvent.COMPLETEAGENT}


QUEUE_BRIDGE = "q-"  # ids of the bridges callers wait and talk in


def queue_bridge_prefix(call_id: str) -> str:
    return f"{QUEUE_BRIDGE}{call_id}-"


class Lane:
    """Runs submitted coroutines one after another (one per call: ARI requests stay ordered)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: asyncio.Queue[Callable[[], Awaitable[object]] | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._work(), name=f"lane-{name}")

    def submit(self, job: Callable[[], Awaitable[object]]) -> None:
        self._jobs.put_nowait(job)

    async def close(self) -> None:
        self._jobs.put_nowait(None)
        await self._task

    async def _work(self) -> None:
        while (job := await self._jobs.get()) is not None:
            try:
                await job()
            except AriError as exc:
                # 404: the channel or bridge is gone; the hangup events tell the core.
                if exc.status != 404:
                    log.warning("%s: %s", self.name, exc)
            except Exception:
                log.exception("%s: job failed", self.name)


# --- talk watchers (supervision, recording) --------------------------------------------------


@dataclass(frozen=True)
class Talk:
    """A caller and an agent connected in the call's bridge: what supervision and recording
    need to know about a call, given to the talk watchers."""

    call_id: str
    tenant_id: int
    queue: str
    bridge_id: str
    caller_channel_id: str
    agent_channel_id: str
    agent_user_id: int | None
    from_number: str


class TalkWatcher(Protocol):
    """Told when a talk starts (the agent is in the bridge) and ends (the call leaves the ACD).

    Called from the ACD's tasks: must return at once (start a task for any IO)."""

    def talk_started(self, talk: Talk) -> None: ...

    def talk_ended(self, talk: Talk) -> None: ...


@dataclass
class _Waiting:
    """A call the ACD owns, from enqueue to its exit from the queue."""

    call: Call
    tenant_id: int
    queue: str
    bridge_id: str
    lane: Lane
    outcome: asyncio.Future[Outcome]
    moh_class: str = "default"
    # Arrived unanswered: hears ringing (SIP 180) while the first agents ring, and is answered
    # only once an agent answers, or when an offer ends unanswered (then: music, announcements).
    ringback: bool = False
    ringing: int = 0  # agent legs ringing for this call
    agent_leg: _Leg | None = None
    connected: bool = False
    held: bool = False
    muted: bool = False
    transfer_to: str | None = None  # blind transfer to this outside number, once out of the ACD
    consult: _Consult | None = None  # attended transfer in progress
    handover: _Consult | None = None  # attended transfer completed: the caller goes to this leg
    abandoned_by_app: bool = False  # the app stopped while the call was here
    talk: Talk | None = None  # set once caller and agent are bridged (for talk watchers)


@dataclass
class _Leg:
    """The agent's channel for one offer."""

    offer: Offer
    channel_id: str
    inbox: EventInbox
    answered: bool = False
    dropped: bool = False  # we hung it up (cancelled, or the caller left)
    task: asyncio.Task[None] | None = field(default=None, repr=False)


@dataclass
class _Consult:
    """The leg an agent consults before an attended transfer."""

    channel_id: str
    target: str
    inbox: EventInbox
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class CallControlError(Exception):
    """A call control request that does not fit the call's state (code: not-found/conflict),
    or that the tenant's dialling policy refuses (forbidden)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AcdService:
    """Queues, agents and offers for every tenant: implements `handoff.QueueDesk`."""

    def __init__(
        self,
        ari: AriClient,
        router: CallRouter,
        db: Database,
        bus: Bus,
        app: str,
        *,
        line: OutsideLine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ari = ari
        self.router = router
        self.line = line
        self.db = db
        self.bus = bus
        self.app = app
        self.clock = clock
        self.directory = AcdDirectory(db)
        self.core = Acd(start=clock())
        self.stats = Stats()
        self.agents: dict[str, AgentRecord] = {}
        self._by_endpoint: dict[str, str] = {}
        self._inbox: asyncio.Queue[ev.Event] = asyncio.Queue()
        self._waiting: dict[str, _Waiting] = {}
        self._legs: dict[int, _Leg] = {}
        self._to_dial: deque[_Leg] = deque()  # offers of the event being applied
        self._tasks: list[asyncio.Task[None]] = []
        self._hangups: set[asyncio.Task[None]] = set()
        self.decisions = 0
        self.talk_watchers: list[TalkWatcher] = []  # supervision, recording
        self.publisher = AcdPublisher(self)  # agent:state and queue:stats
        self.wrapup_ends: dict[str, float] = {}  # agent id -> when their wrap-up time is over
        self.agent_calls: dict[str, str] = {}  # agent id -> call ringing, talking or in wrap-up
        self._dispositioned: set[str] = set()  # calls whose agent saved the disposition

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load queues and agents, rebuild logins and pauses from the journal, start the owner."""
        for tenant_id, config in await self.directory.queues():
            self._add_queue(tenant_id, config)
        for agent in await self.directory.agents():
            self._add_agent(agent)
        # Apply the configuration before the journal's logins, in order, before any call.
        while not self._inbox.empty():
            await self._apply(self._inbox.get_nowait())
        for event in await self._restore_agents():
            await self._apply(event)
        self._tasks = [asyncio.create_task(self._own(), name="acd-owner")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        while not self._inbox.empty():  # nobody waits on a barrier the owner will never reach
            item = self._inbox.get_nowait()
            if isinstance(item, asyncio.Future) and not item.done():
                item.set_result(None)
        await self.db.writes.settle()

    async def on_connect(self) -> None:
        """After every (re)connect: endpoints again (memory objects), registration states."""
        # Subscriptions outlive the socket: drop an endpoint-wide one (older versions made it),
        # which would deliver every channel event twice.
        with contextlib.suppress(AriError):
            await self.ari.applications.unsubscribe(self.app, "endpoint:PJSIP")
        await provision_all(self.ari, list(self.agents.values()))
        for agent in self.agents.values():
            await self._refresh_registration(agent)

    def on_device_state(self, event: Event) -> None:
        """DeviceStateChanged of an agent's phone: registered or not.

        Device states, not endpoint events: subscribing the app to an endpoint also delivers
        every event of that endpoint's channels a second time (verified on Asterisk 22).
        """
        device = event.get("device_state") or {}
        name = str(device.get("name", ""))
        agent_id = self._by_endpoint.get(name.removeprefix("PJSIP/"))
        if agent_id is None or self.agents[agent_id].contact:
            return
        reachable = device.get("state") not in UNREACHABLE_DEVICE
        self.post(ev.AgentRegistered(agent_id) if reachable else ev.AgentUnregistered(agent_id))

    # --- configuration (admin API, CLI) ---------------------------------------------------

    async def save_queue(self, tenant_id: int, name: str, settings: dict[str, Any]) -> QueueConfig:
        config = await self.directory.save_queue(tenant_id, name, settings)
        self._add_queue(tenant_id, config)
        return config

    async def save_agent(self, agent: AgentRecord) -> None:
        """(Re)load an agent after the directory changed them; provision their endpoint."""
        self._add_agent(agent)
        with contextlib.suppress(AriError):
            await provision(self.ari, agent)
            await self._refresh_registration(agent)

    def _add_queue(self, tenant_id: int, config: QueueConfig) -> None:
        key = queue_key(tenant_id, config.name)
        scoped = QueueConfig(**{**config.__dict__, "name": key})
        self.stats.set_rules(key, QueueRules.of(config))
        self.post(ev.QueueConfigChanged(scoped))

    def _add_agent(self, agent: AgentRecord) -> None:
        self.agents[agent.agent_id] = agent
        self._by_endpoint[agent.endpoint] = agent.agent_id
        self.post(ev.AgentConfigChanged(agent.config()))

    async def _refresh_registration(self, agent: AgentRecord) -> None:
        if agent.contact:  # a desk phone at a fixed address is always reachable
            self.post(ev.AgentRegistered(agent.agent_id))
            return
        try:
            await self.ari.applications.subscribe(self.app, f"deviceState:PJSIP/{agent.endpoint}")
            state = (await self.ari.endpoints.get("PJSIP", agent.endpoint)).get("state")
        except AriError:
            state = None
        registered = state == "online"
        self.post(
            ev.AgentRegistered(agent.agent_id)
            if registered
            else ev.AgentUnregistered(agent.agent_id)
        )

    # --- agents (softphone, API) ----------------------------------------------------------

    def login(self, agent_id: str, queues: list[str] | None = None) -> None:
        agent = self.agents[agent_id]
        names = queues if queues is not None else list(agent.queues)
        self.post(ev.AgentLogin(agent_id, [queue_key(agent.tenant_id, q) for q in names]))

    def logout(self, agent_id: str) -> None:
        self.post(ev.AgentLogout(agent_id))

    def pause(self, agent_id: str, reason: str) -> None:
        self.post(ev.AgentPause(agent_id, reason))

    def unpause(self, agent_id: str) -> None:
        self.post(ev.AgentUnpause(agent_id))

    def wrapup_done(self, agent_id: str) -> None:
        self.post(ev.WrapUpDone(agent_id))

    def post(self, event: ev.Event) -> None:
        """Hand an event to the owner task (never blocks, callable from any task)."""
        self._inbox.put_nowait(event)

    async def barrier(self) -> None:
        """Return once the owner has applied everything posted before this call (at once if
        the owner is not running)."""
        if not self._tasks:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(done)  # type: ignore[arg-type]
        await done

    def complete_wrapup(self, agent_id: str, call_id: str) -> None:
        """The agent saved the call's disposition: wrap-up may end once its time is over."""
        self._dispositioned.add(call_id)
        view = self.core.agent(agent_id)
        if view is not None and view.paused == DISPOSITION_PENDING:
            self.post(ev.AgentUnpause(agent_id))

    # --- QueueDesk ------------------------------------------------------------------------

    async def enqueue(self, call: Call, request: QueueRequest) -> Outcome:
        tenant_id = call.record.tenant_id
        key = queue_key(tenant_id, request.queue)
        config = self.core.queue(key)
        if config is None:
            await call.note("QUEUE_UNKNOWN", queue=request.queue)
            return Outcome(False, "unknown_queue")
        call_id = call.record.id
        bridge_id = f"{queue_bridge_prefix(call_id)}{time.monotonic_ns() % 1_000_000}"  # per stay
        entered = request.entered_at or self.clock()
        waiting = _Waiting(
            call=call,
            tenant_id=tenant_id,
            queue=request.queue,
            bridge_id=bridge_id,
            lane=Lane(f"call-{call_id}"),
            outcome=asyncio.get_running_loop().create_future(),
            moh_class=config.moh_class,
            ringback=call.record.answered_at is None,
        )
        self._waiting[call_id] = waiting
        stay = replace(request, entered_at=entered)

        async def settle_in() -> None:
            # First in the call's lane: music, offers' bridging and announcements queue
            # behind it. It starts once the owner has taken the arrival in, so the first
            # agent's originate reaches Asterisk before this call's other requests.
            await self.barrier()
            try:
                # The bridge's name keeps the stay, so a restarted app puts the caller back.
                await self.ari.bridges.create("mixing", bridge_id=bridge_id,
                                              name=stay.bridge_name())
                if waiting.ringback:
                    await self.ari.channels.ring(call.channel_id)
                else:
                    await self.ari.bridges.add_channel(bridge_id, call.channel_id)
                call.log.set_queue(call.record, request.queue)
            except AriError as exc:
                log.warning("call %s cannot wait in %s: %s", call_id, request.queue, exc)
                self.post(ev.CallerHungUp(call_id))  # the core lets it go (journal: ABANDON)

        try:
            waiting.lane.submit(settle_in)
            self.post(
                ev.CallArrived(
                    call_id,
                    key,
                    caller=call.record.from_number,
                    priority=request.priority,
                    skills=dict(request.skills),
                    max_wait=request.max_wait,
                    entered_at=entered,
                )
            )
            outcome = await self._serve(waiting)
            if outcome.reason == "transferred" and not call.inbox.gone:
                outcome = await self._hand_over(waiting, outcome)
            return outcome
        except asyncio.CancelledError:
            # The app is stopping: leave the caller (and a conversation) as they are in
            # Asterisk; the next start adopts them.
            waiting.abandoned_by_app = True
            raise
        finally:
            del self._waiting[call_id]
            await waiting.lane.close()
            if not waiting.abandoned_by_app:
                if waiting.talk is not None:  # before the bridge goes: recordings stop cleanly
                    self._tell_watchers(waiting.talk, started=False)
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge_id)
                talked = waiting.outcome.done() and waiting.outcome.result().talked
                if not talked and not waiting.ringback and not call.inbox.gone:
                    with contextlib.suppress(AriError):
                        await self.ari.channels.stop_moh(call.channel_id)

    def owns_bridge(self, bridge_id: str) -> bool:
        return any(w.bridge_id == bridge_id for w in self._waiting.values())

    async def connect_agent(self, call: Call, agent: str) -> Outcome:
        """Not offered through a queue: the IVR's transfer to a named agent (username)."""
        match = [a for a in self.agents.values()
                 if a.tenant_id == call.record.tenant_id and a.username == agent]
        if not match:
            return Outcome(False, "unknown_agent")
        key = await self._personal_queue(match[0])
        return await self.enqueue(call, QueueRequest(queue=split_queue_key(key)[1]))

    async def _serve(self, waiting: _Waiting) -> Outcome:
        """Wait for the core's verdict while watching the caller's channel."""
        call = waiting.call

        def relevant(event: Event) -> bool:
            playback = event.get("playback") or {}
            return event.get("type") == "PlaybackFinished" and str(
                playback.get("id", "")
            ).startswith(ANNOUNCEMENT)

        async def watch() -> None:
            try:
                while True:
                    await call.inbox.wait_for(relevant)
                    if not waiting.connected:  # playing stopped the music: start it again
                        waiting.lane.submit(
                            lambda: self.ari.channels.start_moh(call.channel_id, waiting.moh_class)
                        )
            except ChannelGone:
                self.post(ev.CallerHungUp(call.record.id))

        watcher = asyncio.create_task(watch(), name=f"watch-{call.record.id}")
        try:
            return await asyncio.shield(waiting.outcome)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    # --- the owner ------------------------------------------------------------------------

    async def _own(self) -> None:
        while True:
            deadline = self.core.next_deadline()
            event: ev.Event
            try:
                if deadline is None:
                    event = await self._inbox.get()
                else:
                    async with asyncio.timeout(max(0.0, deadline - self.clock())):
                        event = await self._inbox.get()
            except TimeoutError:
                event = ev.Tick()
            if isinstance(event, asyncio.Future):  # a barrier
                if not event.done():
                    event.set_result(None)
                continue
            await self._apply(event)

    async def _apply(self, event: ev.Event) -> None:
        try:
            actions = self.core.feed(event, self.clock())
        except Exception:
            log.exception("ACD core refused %r", event)
            return
        self.decisions += 1
        for action in actions:
            try:
                self._carry_out(action)
            except Exception:
                log.exception("carrying out %r failed", action)
        # Agents' phones first: the INVITEs leave before the bookkeeping below.
        while self._to_dial:
            await self._dial(self._to_dial.popleft())
        for action in actions:
            if isinstance(action, StartMoh):  # a caller left ringing with no agent to ring
                waiting = self._waiting.get(action.call_id)
                if waiting is not None and waiting.ringback and not waiting.ringing:
                    self._seat(waiting)
        touched = self.stats.apply_all(actions)
        for key in touched.queues:
            self.publisher.queue_changed(key)
        agents = set(touched.agents)
        if isinstance(event, ev.AgentRegistered | ev.AgentUnregistered):
            # A logged-out agent's phone coming or going changes no state, but people see it.
            agents.add(event.agent_id)
        for agent_id in agents:
            self.publisher.agent_changed(agent_id)

    def _carry_out(self, action: Action) -> None:
        if isinstance(action, Journal):
            self._journal(action)
        elif isinstance(action, StartMoh):
            waiting = self._waiting.get(action.call_id)
            if waiting is not None:
                waiting.moh_class = action.moh_class
                if not waiting.ringback:  # else the music starts once the caller is seated
                    channel = waiting.call.channel_id
                    waiting.lane.submit(
                        lambda: self.ari.channels.start_moh(channel, action.moh_class)
                    )
        elif isinstance(action, Announce):
            self._announce(action)
        elif isinstance(action, Offer):
            self._ring(action)
        elif isinstance(action, CancelOffer):
            leg = self._legs.get(action.offer_id)
            if leg is not None:
                self._drop(leg)
        elif isinstance(action, Connect):
            self._connect(action)
        elif isinstance(action, Overflow | RejectJoin | LeaveEmpty):
            reason = {Overflow: "overflow", RejectJoin: "refused", LeaveEmpty: "empty"}[
                type(action)
            ]
            self._settle(action.call_id, Outcome(False, reason, **_target(action.target)))

    def _seat(self, waiting: _Waiting) -> None:
        """A caller who heard ringing now waits for real: answered, in the bridge, music."""
        if not waiting.ringback or waiting.connected or waiting.outcome.done():
            return
        waiting.ringback = False
        call = waiting.call

        async def seat() -> None:
            await call.answer()
            await self.ari.bridges.add_channel(waiting.bridge_id, call.channel_id)
            await self.ari.channels.start_moh(call.channel_id, waiting.moh_class)

        waiting.lane.submit(seat)

    def _settle(self, call_id: str | None, outcome: Outcome) -> None:
        waiting = self._waiting.get(call_id or "")
        if waiting is not None and not waiting.outcome.done():
            waiting.outcome.set_result(outcome)

    def _announce(self, action: Announce) -> None:
        waiting = self._waiting.get(action.call_id)
        if waiting is None:
            return
        self._seat(waiting)  # announcements are for answered callers
        media = (
            ["sound:queue-youarenext"]
            if action.position == 1
            else [
                "sound:queue-thereare",
                f"number:{action.position - 1}",
                "sound:queue-callswaiting",
            ]
        )
        if action.estimated_wait is not None and action.estimated_wait >= 60:
            media += [
                "sound:queue-holdtime",
                f"number:{round(action.estimated_wait / 60)}",
                "sound:queue-minutes",
            ]
        channel = waiting.call.channel_id
        playback_id = f"{ANNOUNCEMENT}{action.call_id}-{time.monotonic_ns()}"
        waiting.lane.submit(lambda: self.ari.channels.play(channel, media, playback_id=playback_id))

    def _ring(self, offer: Offer) -> None:
        channel_id = f"{offer.call_id}-o{offer.offer_id}"
        leg = _Leg(offer, channel_id, self.router.claim(channel_id))
        self._legs[offer.offer_id] = leg
        waiting = self._waiting.get(offer.call_id)
        if waiting is not None:
            waiting.ringing += 1
        self._to_dial.append(leg)

    async def _dial(self, leg: _Leg) -> None:
        """Originate the agent's leg in the owner's own turn (the request is on the socket
        before the owner moves on: no turn of the event loop in between); the leg's task then
        waits for the answer and follows the leg."""
        offer = leg.offer
        waiting = self._waiting.get(offer.call_id)
        originated: Awaitable[object]
        try:
            originated = await self.ari.channels.start_originate(
                offer.endpoint,
                app=self.app,
                app_args=["agent", offer.call_id],
                caller_id=f'"{offer.caller}" <{offer.caller}>',
                # The core times the offer out; Asterisk's limit is only a safety net.
                dial_timeout=math.ceil(offer.timeout) + 30,
                channel_id=leg.channel_id,
                # As app_queue does: the leg is requested with the caller's formats (not every
                # audio format Asterisk knows: ~0.15 ms less per originate, measured) and
                # shares the caller's linkedid.
                originator=waiting.call.channel_id if waiting is not None else None,
            )
        except Exception as exc:  # e.g. unreachable: the leg's task reports it to the core
            originated = _raise(exc)
        leg.task = asyncio.create_task(self._follow_leg(leg, originated),
                                       name=f"leg-{leg.channel_id}")
        agent = self.agents.get(offer.agent_id)
        if waiting is not None and agent is not None:
            self.bus.publish(CALL_INCOMING, waiting.tenant_id,
                             _live_call(waiting, "ringing", agent, CallRinging))

    async def _follow_leg(self, leg: _Leg, originated: Awaitable[object]) -> None:
        offer = leg.offer
        try:
            try:
                await originated
            except AriError as exc:
                if exc.status == 400 and "originator" in exc.message:
                    return  # the caller is gone: its hangup ends the offer, no agent missed it
                self.post(
                    ev.OfferFailed(
                        offer.offer_id,
                        offer.call_id,
                        offer.agent_id,
                        reason=exc.message or str(exc),
                    )
                )
                return
            try:
                await leg.inbox.wait_for({"StasisStart"})
                leg.answered = True
                if leg.dropped:  # answered after the core cancelled it
                    await self._hangup(leg.channel_id)
                    return
                self.post(ev.OfferAnswered(offer.offer_id, offer.call_id, offer.agent_id))
                await leg.inbox.wait_for(lambda _: False)  # until the leg is gone
            except ChannelGone:
                if leg.dropped:
                    return
                if leg.answered:
                    self.post(ev.AgentHungUp(offer.call_id, offer.agent_id))
                    return
                cause = leg.inbox.hangup.cause
                if cause in _BUSY:
                    self.post(
                        ev.OfferRejected(
                            offer.offer_id, offer.call_id, offer.agent_id, reason=_BUSY[cause]
                        )
                    )
                elif cause in _NO_ANSWER:
                    self.post(
                        ev.OfferRejected(
                            offer.offer_id, offer.call_id, offer.agent_id, reason="no answer"
                        )
                    )
                else:
                    self.post(
                        ev.OfferFailed(
                            offer.offer_id,
                            offer.call_id,
                            offer.agent_id,
                            reason=leg.inbox.hangup.cause_text or str(cause),
                        )
                    )
        finally:
            self.router.release(leg.channel_id)
            self._legs.pop(offer.offer_id, None)
            waiting = self._waiting.get(offer.call_id)
            if waiting is not None:
                waiting.ringing -= 1
                if not leg.answered:  # the caller hears ringing no longer: seat them
                    self._seat(waiting)

    def _drop(self, leg: _Leg) -> None:
        if not leg.dropped:
            leg.dropped = True
            task = asyncio.create_task(self._hangup(leg.channel_id))
            self._hangups.add(task)
            task.add_done_callback(self._hangups.discard)

    async def _hangup(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(channel_id)

    def _connect(self, action: Connect) -> None:
        waiting = self._waiting.get(action.call_id)
        leg = self._legs.get(action.offer_id)
        if waiting is None or leg is None:
            return
        waiting.agent_leg = leg
        waiting.connected = True
        agent = self.agents.get(action.agent_id)
        call = waiting.call

        async def bridge() -> None:
            if waiting.ringback:  # answered only now that an agent is on the line
                waiting.ringback = False
                await call.answer()
                await self.ari.bridges.add_channel(waiting.bridge_id,
                                                   [call.channel_id, leg.channel_id])
            else:
                await self.ari.bridges.add_channel(waiting.bridge_id, leg.channel_id)
                with contextlib.suppress(AriError):
                    await self.ari.channels.stop_moh(call.channel_id)
            if agent is not None:
                call.log.set_agent(call.record, agent.user_id)
                call.record = replace(call.record, agent_user_id=agent.user_id,
                                      queue=waiting.queue)
            self._publish_call(waiting, "talking")
            waiting.talk = Talk(
                call_id=call.record.id,
                tenant_id=waiting.tenant_id,
                queue=waiting.queue,
                bridge_id=waiting.bridge_id,
                caller_channel_id=call.channel_id,
                agent_channel_id=leg.channel_id,
                agent_user_id=agent.user_id if agent is not None else None,
                from_number=call.record.from_number,
            )
            self._tell_watchers(waiting.talk, started=True)

        waiting.lane.submit(bridge)

    def _tell_watchers(self, talk: Talk, *, started: bool) -> None:
        for watcher in self.talk_watchers:
            try:
                if started:
                    watcher.talk_started(talk)
                else:
                    watcher.talk_ended(talk)
            except Exception:
                log.exception("talk watcher %r failed", watcher)

    # --- call control (agent page, API) ----------------------------------------------------

    def live(self, call_id: str) -> _Waiting:
        waiting = self._waiting.get(call_id)
        if waiting is None:
            raise CallControlError("not-found", "no such call in a queue or with an agent")
        return waiting

    def _talking(self, call_id: str) -> _Waiting:
        waiting = self.live(call_id)
        if not waiting.connected or waiting.agent_leg is None:
            raise CallControlError("conflict", "the call is not connected to an agent")
        return waiting

    async def hold(self, call_id: str) -> None:
        """The caller hears music on hold, alone; the agent stays on the line (silence)."""
        waiting = self._talking(call_id)
        if waiting.held:
            return
        waiting.held = True
        await self.ari.bridges.remove_channel(waiting.bridge_id, waiting.call.channel_id)
        await self.ari.channels.start_moh(waiting.call.channel_id, waiting.moh_class)
        self.post(ev.CallHeld(call_id))
        self._publish_call(waiting, "held")

    async def unhold(self, call_id: str) -> None:
        waiting = self._talking(call_id)
        if not waiting.held:
            return
        await self._back_to_bridge(waiting)
        self.post(ev.CallResumed(call_id))
        self._publish_call(waiting, "talking")

    async def _back_to_bridge(self, waiting: _Waiting) -> None:
        waiting.held = False
        with contextlib.suppress(AriError):
            await self.ari.channels.stop_moh(waiting.call.channel_id)
        await self.ari.bridges.add_channel(waiting.bridge_id, waiting.call.channel_id)

    async def mute(self, call_id: str, muted: bool) -> None:
        """Mute the agent towards the caller (the agent still hears the caller)."""
        waiting = self._talking(call_id)
        assert waiting.agent_leg is not None
        channel = waiting.agent_leg.channel_id
        if muted:
            await self.ari.channels.mute(channel, "in")
        else:
            await self.ari.channels.unmute(channel, "in")
        waiting.muted = muted
        await waiting.call.note("MUTE" if muted else "UNMUTE")
        self._publish_call(waiting, "held" if waiting.held else "talking")

    async def hangup(self, call_id: str) -> None:
        """The agent's hangup button: their leg leaves (COMPLETEAGENT), or the caller is
        released when no agent has the call yet."""
        waiting = self.live(call_id)
        channel = (waiting.agent_leg.channel_id if waiting.agent_leg is not None
                   else waiting.call.channel_id)
        await self._hangup(channel)

    async def send_dtmf(self, call_id: str, digits: str) -> None:
        waiting = self._talking(call_id)
        await self.ari.channels.send_dtmf(waiting.call.channel_id, digits)

    async def transfer(self, call_id: str, kind: str, target: str, *, attended: bool) -> None:
        """Blind: the agent leaves at once. Attended: the caller holds while the agent
        consults the target; complete_transfer / cancel_transfer end the consultation."""
        waiting = self._talking(call_id)
        if kind == "number":
            target = await self._outside_number(waiting, target)
        if attended:
            await self._consult(waiting, kind, target)
            return
        if kind == "number":
            waiting.transfer_to = target
            self.post(ev.CallTransferred(call_id, f"number:{target}"))
        else:
            key = await self._transfer_queue(waiting, kind, target)
            if waiting.held:
                await self._back_to_bridge(waiting)
            self.post(ev.TransferToQueue(call_id, key))

    async def _outside_number(self, waiting: _Waiting, number: str) -> str:
        """What to dial for a transfer to `number`, if the tenant's dialling policy allows it
        (checked again when the caller is handed over: the trunk checks every number)."""
        if self.line is None:
            raise CallControlError("conflict", "no trunk to dial out")
        verdict = await self.line.permit(waiting.tenant_id, number, None,
                                         call_id=waiting.call.record.id)
        if not verdict.allowed or verdict.number is None:
            raise CallControlError("forbidden", verdict.message)
        return verdict.number

    async def _transfer_queue(self, waiting: _Waiting, kind: str, target: str) -> str:
        if kind == "queue":
            key = queue_key(waiting.tenant_id, target)
            if self.core.queue(key) is None:
                raise CallControlError("not-found", f"no queue {target!r}")
            return key
        agent = self.agents.get(target)
        if agent is None or agent.tenant_id != waiting.tenant_id:
            raise CallControlError("not-found", f"no agent {target!r}")
        return await self._personal_queue(agent)

    async def _personal_queue(self, agent: AgentRecord) -> str:
        """A queue of one agent: offers to a named agent stay inside the core (journaled,
        race-free, and the caller waits with music when that agent is busy)."""
        key = queue_key(agent.tenant_id, personal_queue(agent.username))
        if self.core.queue(key) is None:
            self.post(ev.QueueConfigChanged(QueueConfig(name=key, max_wait=60.0,
                                                        autopause_after=None)))
            self.post(ev.AgentLogin(agent.agent_id, [key]))
            await asyncio.sleep(0)
        return key

    async def _consult(self, waiting: _Waiting, kind: str, target: str) -> None:
        if waiting.consult is not None:
            raise CallControlError("conflict", "a consultation is already in progress")
        if kind == "number" and self.line is not None:  # `target`: as the policy allowed it
            endpoint = self.line.dial_string(target)
        elif kind == "agent" and target in self.agents:
            endpoint = f"PJSIP/{self.agents[target].endpoint}"
        else:
            raise CallControlError("conflict", "attended transfers go to an agent or a number")
        await self.hold(waiting.call.record.id)
        channel_id = f"{waiting.call.record.id}-c{time.monotonic_ns()}"
        consult = _Consult(channel_id, f"{kind}:{target}", self.router.claim(channel_id))
        waiting.consult = consult
        try:
            await self.ari.channels.originate(
                endpoint, app=self.app, app_args=["consult", waiting.call.record.id],
                channel_id=channel_id, dial_timeout=30,
                caller_id=waiting.call.record.from_number,
            )
        except AriError as exc:
            waiting.consult = None
            self.router.release(channel_id)
            await self.unhold(waiting.call.record.id)
            raise CallControlError("conflict", f"cannot dial {target}: {exc.message}") from exc
        await waiting.call.note("CONSULT", target=consult.target)
        self._publish_call(waiting, "consulting")
        task = asyncio.create_task(self._follow_consult(waiting, consult))
        self._hangups.add(task)
        task.add_done_callback(self._hangups.discard)

    async def _follow_consult(self, waiting: _Waiting, consult: _Consult) -> None:
        try:
            await consult.inbox.wait_for({"StasisStart"})
            consult.answered.set()
            await self.ari.bridges.add_channel(waiting.bridge_id, consult.channel_id)
            await consult.inbox.wait_for(lambda _: False)
        except (ChannelGone, AriError):
            pass
        finally:
            self.router.release(consult.channel_id)
            if waiting.consult is consult:  # the target left before the transfer completed
                waiting.consult = None
                self._publish_call(waiting, "held")
            elif waiting.handover is consult:  # the call was theirs: it ends with them
                await self._hangup(waiting.call.channel_id)

    async def complete_transfer(self, call_id: str) -> None:
        waiting = self._talking(call_id)
        consult = waiting.consult
        if consult is None or not consult.answered.is_set():
            raise CallControlError("conflict", "no answered consultation to hand the call to")
        waiting.consult, waiting.handover = None, consult
        self.post(ev.CallTransferred(call_id, consult.target, attended=True))

    async def cancel_transfer(self, call_id: str) -> None:
        waiting = self._talking(call_id)
        consult = waiting.consult
        if consult is None:
            raise CallControlError("conflict", "no consultation in progress")
        waiting.consult = None
        await self._hangup(consult.channel_id)
        await self.unhold(call_id)

    async def _hand_over(self, waiting: _Waiting, outcome: Outcome) -> Outcome:
        """The core let the call go by a transfer: connect the caller to its target."""
        call = waiting.call
        if waiting.handover is not None:  # attended: the target already talks in our bridge
            await self._back_to_bridge(waiting)
            await call.note("TRANSFERRED", target=waiting.handover.target, attended=True)
            try:
                with contextlib.suppress(ChannelGone):
                    await call.inbox.wait_for(lambda _: False)
            finally:  # the caller left: so does the party they were handed to
                await self._hangup(waiting.handover.channel_id)
            return outcome
        if waiting.transfer_to is not None and self.line is not None:
            with contextlib.suppress(AriError):
                await self.ari.bridges.remove_channel(waiting.bridge_id, call.channel_id)
            with contextlib.suppress(AriError):
                await self.ari.channels.stop_moh(call.channel_id)
            await call.note("TRANSFERRED", target=f"number:{waiting.transfer_to}")
            return await self.line.connect_number(call, waiting.transfer_to)
        return outcome

    def _publish_call(self, waiting: _Waiting, state: str) -> None:
        leg = waiting.agent_leg
        agent = self.agents.get(leg.offer.agent_id) if leg is not None else None
        self.bus.publish(CALL_STATE, waiting.tenant_id,
                         _live_call(waiting, state, agent, CallUpdated))

    # --- journal ---------------------------------------------------------------------------

    def _journal(self, row: Journal) -> None:
        tenant_id: int | None = None
        queue: str | None = None
        if row.queue is not None:
            tenant_id, queue = split_queue_key(row.queue)
        agent = self.agents.get(row.agent_id or "")
        if tenant_id is None and agent is not None:
            tenant_id = agent.tenant_id
        if tenant_id is None:
            return
        data: dict[str, Any] = dict(row.data)
        if agent is not None:
            data.setdefault("agent", agent.username)
        self.db.writes.append([
            NewEvent(
                tenant_id=tenant_id,
                event=str(row.event),
                call_id=row.call_id,
                agent_user_id=agent.user_id if agent else None,
                queue=queue,
                data=data,
                at=datetime.fromtimestamp(row.at, UTC),
            )
        ])
        if agent is not None and row.call_id is not None and row.event in (
            JournalEvent.OFFER, JournalEvent.CONNECT
        ):
            self.agent_calls[agent.agent_id] = row.call_id
        if row.event == JournalEvent.WRAPUPSTART and agent is not None:
            self.wrapup_ends[agent.agent_id] = row.at + float(row.data.get("seconds") or 0)
            call = self.agent_calls.get(agent.agent_id)
            # Desk phones (a fixed contact) have no page to save a disposition from.
            if agent.contact is None and call is not None and call not in self._dispositioned:
                self.post(ev.AgentPause(agent.agent_id, DISPOSITION_PENDING))
        if row.event in _COMPLETE:
            if row.event == JournalEvent.COMPLETECALLER:
                waiting = self._waiting.get(row.call_id or "")
                if waiting is not None and waiting.agent_leg is not None:
                    self._drop(waiting.agent_leg)
            self._settle(
                row.call_id, Outcome(True, "completed", agent=agent.username if agent else None)
            )
        elif row.event == JournalEvent.TRANSFER:
            waiting = self._waiting.get(row.call_id or "")
            if waiting is not None and waiting.agent_leg is not None:
                self._drop(waiting.agent_leg)  # the agent is done with this call
                waiting.agent_leg, waiting.connected, waiting.muted = None, False, False
            if waiting is not None and (waiting.transfer_to or waiting.handover):
                # Only a transfer we asked for (CallTransferred) takes the call out of the
                # core; a move to another queue (transfer, overflow) keeps it there.
                self._settle(row.call_id, Outcome(True, "transferred", agent=None))
        elif row.event == JournalEvent.ABANDON:
            self._settle(row.call_id, Outcome(False, "caller_hangup"))
        # Otherwise a call leaves the core only with Overflow, RejectJoin or LeaveEmpty.

    async def _restore_agents(self) -> list[ev.Event]:
        """Logins and pauses as the journal left them (the app restarted, agents did not)."""
        kinds = ("LOGIN", "LOGOUT", "PAUSE", "UNPAUSE")
        async with self.db.session() as session:
            rows = list(
                await session.execute(
                    select(
                        CallEvent.agent_user_id, CallEvent.event, CallEvent.queue, CallEvent.data
                    )
                    .where(CallEvent.event.in_(kinds), CallEvent.agent_user_id.is_not(None))
                    .order_by(CallEvent.id)
                )
            )
        logged: dict[str, set[str]] = {}
        paused: dict[str, str | None] = {}
        for user_id, kind, queue, data in rows:
            agent = self.agents.get(str(user_id))
            if agent is None:
                continue
            queues = logged.setdefault(agent.agent_id, set())
            if kind == "LOGIN" and queue:
                queues.add(queue_key(agent.tenant_id, queue))
            elif kind == "LOGOUT":
                queues.discard(queue_key(agent.tenant_id, queue)) if queue else queues.clear()
            elif kind == "PAUSE":
                paused[agent.agent_id] = str((data or {}).get("reason", ""))
            elif kind == "UNPAUSE":
                paused[agent.agent_id] = None
        restored: list[ev.Event] = []
        for agent_id, queues in logged.items():
            if queues:
                restored.append(ev.AgentLogin(agent_id, sorted(queues)))
                if paused.get(agent_id) is not None:
                    restored.append(ev.AgentPause(agent_id, paused[agent_id] or ""))
        return restored


async def _raise(exc: Exception) -> None:
    raise exc


def _target(target: OverflowTarget | None) -> dict[str, str]:
    if target is None:
        return {}
    return {"overflow_kind": str(target.kind), "overflow_target": target.target}


def _live_call(waiting: _Waiting, state: str, agent: AgentRecord | None, kind: type[C]) -> C:
    """The web's LiveCall shape (acd/service.py) of a call in the ACD."""
    record = waiting.call.record
    return kind(
        call_id=record.id, direction=record.direction, from_number=record.from_number,
        to_number=record.to_number, state=state, started_at=record.started_at,
        answered_at=record.answered_at, queue=waiting.queue,
        agent_user_id=agent.user_id if agent else None, held=waiting.held, muted=waiting.muted,
    )
