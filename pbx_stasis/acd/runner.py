"""The ACD service: the façade the app, the contact center and the IVR use (`AcdService`).

Every decision (which agent, when to ring, who wins a double answer) is the core's, made one
event at a time by the owner task (`owner.py`); the service only turns ARI events into core
events and core actions into ARI requests. The service is composed of parts, each an object
given only what it uses (the ARI client, the router, `post` to the owner's inbox, the shared
pieces of `shared.py`), and the façade delegates to them:

- `Owner` (`owner.py`): the single task feeding the core; it carries the actions out through
  the legs, seen as the small `AgentLegs` protocol, and records the journal rows;
- `Legs` (`legs.py`): the agents' legs. It sends only the originate of a leg from the owner's
  own turn (the answer is awaited by the leg's task); every other request runs in the call's
  lane (a serial executor, `stay.py`), so one slow request delays only its own call;
- `CallControl` (`control.py`): hold, mute, DTMF, hangup, transfers of a connected call;
- `Restore` (`restore.py`): endpoints, registrations, logins and pauses after a (re)start;
- `Callers` (`callers.py`): a caller's stay, what `enqueue` does, handing a transferred caller
  over through call control (seen as the small `HandOver` protocol).

What people see (agent:state, queue:stats, the live calls) is `AcdPublisher` (`publisher.py`).

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
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.callback_desk import CallbackDesk
from pbx_stasis.acd.callers import Callers
from pbx_stasis.acd.control import CallControl
from pbx_stasis.acd.core import Acd
from pbx_stasis.acd.directory import AcdDirectory, AgentRecord, queue_key, split_queue_key
from pbx_stasis.acd.figures import JournalLine, QueueRules
from pbx_stasis.acd.legs import Legs
from pbx_stasis.acd.model import QueueConfig
from pbx_stasis.acd.outbound import OutboundTalks
from pbx_stasis.acd.owner import Owner
from pbx_stasis.acd.provision import provision
from pbx_stasis.acd.publisher import AcdPublisher
from pbx_stasis.acd.restore import OpenTalk, Restore
from pbx_stasis.acd.shared import (
    AgentCalls,
    Calls,
    Hangups,
    Inbox,
    MaskedCallerId,
    not_masked,
)
from pbx_stasis.acd.stats import Stats
from pbx_stasis.acd.stay import (
    DISPOSITION_PENDING,
    QUEUE_BRIDGE,
    CallControlError,
    Talk,
    TalkWatcher,
    Waiting,
    queue_bridge_prefix,
)
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.bus import Bus
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.handoff import Outcome, OutsideLine, QueueRequest
from pbx_stasis.calls.inbound import Call
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.store import Database, StoreError

log = logging.getLogger(__name__)

TODAY_READ_S = 10.0  # at most this long reading today's journal at a start


# A tenant's figures' journal lines of [start, end), with the agents' states as it began first,
# in batches (the reports' reader, reports/store.py; handed over by app.py).
TodaysJournal = Callable[[int, datetime, datetime], AsyncIterator[Sequence[JournalLine]]]

# Callers import these from here (the façade), wherever they are defined.
__all__ = [
    "DISPOSITION_PENDING",
    "QUEUE_BRIDGE",
    "AcdService",
    "CallControlError",
    "Talk",
    "TalkWatcher",
    "queue_bridge_prefix",
]


class AcdService:
    """Queues, agents and offers for every tenant: implements `handoff.QueueDesk`.

    A façade: it composes the parts (owner, legs, call control, restore, callers), giving each
    only the pieces it uses, and delegates to them."""

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
        edge: str | None = None,
    ) -> None:
        self.ari = ari
        # The SIP edge's host:port when agents register there (provision.py), else None.
        self.edge = edge
        self.db = db
        self.clock = clock
        self.directory = AcdDirectory(db)
        # Offer ids from this start's time (ms, wrapping every ~11 days): a restarted app's
        # agent legs never take the ids of the legs a carried-over conversation still has.
        self.core = Acd(start=clock(), first_offer_id=int(clock() * 1000) % 1_000_000_000 + 1)
        self.stats = Stats()
        self.agents: dict[str, AgentRecord] = {}
        self.talk_watchers: list[TalkWatcher] = []  # supervision, recording
        self.masked_caller_id: MaskedCallerId = not_masked  # see mask_callers
        self._by_endpoint: dict[str, str] = {}
        self._inbox = Inbox()
        self._calls = Calls()
        self._agent_calls = AgentCalls()
        self.publisher = AcdPublisher(  # agent:state, queue:stats and the live calls
            bus=bus, core=self.core, stats=self.stats, agents=self.agents,
            agent_calls=self._agent_calls, clock=clock,
        )
        post = self._inbox.post
        hangups = Hangups(ari)
        self._legs = Legs(
            ari=ari, router=router, app=app, post=post, calls=self._calls, agents=self.agents,
            publisher=self.publisher, talk_watchers=self.talk_watchers, hangups=hangups,
        )
        self._owner = Owner(
            core=self.core, stats=self.stats, inbox=self._inbox, legs=self._legs,
            calls=self._calls, agents=self.agents, agent_calls=self._agent_calls,
            publisher=self.publisher, journal=db.writes.append, clock=clock,
        )
        self._control = CallControl(
            ari=ari, router=router, app=app, line=line, post=post, calls=self._calls,
            agents=self.agents, queues=self.core, publisher=self.publisher, hangups=hangups,
            legs=self._legs.legs,
        )
        self._restore = Restore(ari=ari, app=app, db=db, agents=self.agents,
                                by_endpoint=self._by_endpoint, post=post, edge=edge)
        self._callers = Callers(
            ari=ari, post=post, barrier=self._inbox.barrier, calls=self._calls,
            queues=self.core, handover=self._control, talk_watchers=self.talk_watchers,
            clock=clock,
        )
        self._outbound = OutboundTalks(post=post, calls=self._calls, publisher=self.publisher,
                                       handover=self._control, talk_watchers=self.talk_watchers)

    def serve_callbacks(self, desk: CallbackDesk) -> None:
        """The callbacks feature: waiting callers' requests, dialling callbacks' customers."""
        self._callers.callbacks = desk
        self._owner.callbacks = desk

    @property
    def _waiting(self) -> dict[str, Waiting]:
        """The calls held, by id (tests wait for a call to show up here)."""
        return self._calls.by_id

    @property
    def decisions(self) -> int:
        """Events the core has decided on (the bench counts them)."""
        return self._owner.decisions

    def post(self, event: ev.AcdInput) -> None:
        """Hand an event to the owner task (never blocks, callable from any task)."""
        self._inbox.post(event)

    async def barrier(self) -> None:
        """Return once the owner has applied everything posted before this call (at once if
        the owner is not running)."""
        await self._inbox.barrier()

    def live(self, call_id: str) -> Waiting:
        """The call as the ACD holds it (CallControlError `not-found` if it holds none)."""
        return self._calls.live(call_id)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, today: TodaysJournal | None = None) -> None:
        """Load queues and agents, fold today's journal into the wallboard's figures (`today`:
        its reader), rebuild logins and pauses from the journal, start the owner."""
        tenants: set[int] = set()
        for tenant_id, config in await self.directory.queues():
            self._add_queue(tenant_id, config)
            tenants.add(tenant_id)
        for agent in await self.directory.agents():
            self._add_agent(agent)
            tenants.add(agent.tenant_id)
        # Apply the configuration before the journal's logins, in order, before any call.
        queue = self._inbox.queue
        while not queue.empty():
            await self._owner.apply(queue.get_nowait())
        if today is not None:
            await self._fold_today(today, sorted(tenants))
        # Restored, not new: the journal holds these logins and pauses already; the end of a
        # dial's pause (the dial did not outlive the restart) is new.
        restored, dials_ended = await self._restore.logins_and_pauses()
        for event in restored:
            await self._owner.apply(event, journal=False)
        for event in dials_ended:
            await self._owner.apply(event)
        self._owner.start()

    async def _fold_today(self, today: TodaysJournal, tenants: list[int]) -> None:
        """The wallboard's "today" figures from today's journal, before the restored logins
        and any call, so a restart is invisible in them (they counted from the start before).
        Streamed in batches and bounded in time: the start never waits long on the database;
        a read cut short leaves today's figures partial (logged), never the app unstarted."""
        stats = self.stats
        now = self.clock()
        day_start = stats.calendar.start(stats.calendar.bucket(now))
        start, end = (datetime.fromtimestamp(t, UTC) for t in (day_start, now + 1))
        folded = 0
        try:
            async with asyncio.timeout(TODAY_READ_S):
                for tenant_id in tenants:
                    async for rows in today(tenant_id, start, end):
                        for row in rows:
                            queue = None if row.queue is None else queue_key(tenant_id,
                                                                             row.queue)
                            agent = (None if row.agent_user_id is None
                                     else str(row.agent_user_id))
                            stats.fold(row.event, row.at.timestamp(), row.call_id, queue,
                                       agent, row.data or {})
                        folded += len(rows)
        except (StoreError, TimeoutError) as exc:
            log.warning("today's figures rebuilt from %d journal line(s) only: %s", folded,
                        exc or f"not read within {TODAY_READ_S:.0f} s")
            return
        log.info("today's figures rebuilt from %d journal line(s)", folded)

    async def stop(self) -> None:
        await self._owner.stop()
        await self.db.writes.settle()

    # --- after a (re)connect (restore.py) ---------------------------------------------------

    async def on_connect(self) -> None:
        """After every (re)connect: endpoints again (memory objects), registration states."""
        await self._restore.on_connect()

    async def open_talks(self) -> dict[str, OpenTalk]:
        """The talks the journal leaves open (CONNECT, no end) on live calls, by call id."""
        return await self._restore.open_talks()

    def carry_over(self, talk: OpenTalk, *, ended: bool = False) -> None:
        """A conversation found after a restart is the agent's call again (its end completes
        it), or, `ended` while the app was away, is completed now."""
        self.post(talk.adopted(ended=ended))

    async def resume_talk(self, call: Call, bridge_id: str, talk: OpenTalk) -> Outcome | None:
        """A conversation carried over a restart (`carry_over` posted it) is a full call of
        the ACD's again until it ends: hold, mute, transfer, hangup (restart/adoption.py).
        None at once when the ACD does not take it (its queue or agent is gone)."""
        queue = split_queue_key(talk.queue)[1] if talk.queue else ""  # an outbound call's: none
        return await self._callers.resume(call, bridge_id, queue, talk.connected_at,
                                          lambda call_id: self.core.call(call_id) is not None)

    async def follow_carried_leg(self, call_id: str, agent_id: str, inbox: EventInbox) -> bool:
        """The agent's leg of a conversation `resume_talk` serves (False: none within 5 s)."""
        return await self._legs.follow_carried(call_id, agent_id, inbox)

    def count_away(self, tenant_id: int, queue: str, call_id: str, caller: str,
                   entered_at: float, ended_at: float, why: str) -> None:
        """A call the dialplan let go while the app was away, on its way to `queue`: offered
        there and unanswered in the figures (restart/away.py records the call itself)."""
        self.post(ev.CallAway(call_id, queue_key(tenant_id, queue), caller, entered_at,
                              ended_at, why))

    def on_device_state(self, event: AriEvent) -> None:
        """DeviceStateChanged of an agent's phone: registered or not."""
        self._restore.on_device_state(event)

    def forget_node(self, node: str) -> None:
        """A lost Asterisk node's view of the agents' phones no longer counts."""
        self._restore.forget_node(node)

    # --- configuration (admin API, CLI) ---------------------------------------------------

    async def save_queue(self, tenant_id: int, name: str, settings: dict[str, Any]) -> QueueConfig:
        config = await self.directory.save_queue(tenant_id, name, settings)
        self._add_queue(tenant_id, config)
        return config

    async def save_agent(self, agent: AgentRecord) -> None:
        """(Re)load an agent after the directory changed them; provision their endpoint."""
        self._add_agent(agent)
        with contextlib.suppress(AriError):
            await provision(self.ari, agent, edge=self.edge)
            await self._restore.refresh_registration(agent)

    def _add_queue(self, tenant_id: int, config: QueueConfig) -> None:
        key = queue_key(tenant_id, config.name)
        scoped = QueueConfig(**{**config.__dict__, "name": key})
        self.stats.set_rules(key, QueueRules.of(config))
        self.post(ev.QueueConfigChanged(scoped))

    def _add_agent(self, agent: AgentRecord) -> None:
        self.agents[agent.agent_id] = agent
        self._by_endpoint[agent.endpoint] = agent.agent_id
        self.post(ev.AgentConfigChanged(agent.config()))

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

    def dispositions_in_use(self, tenants: set[int]) -> None:
        """The tenants that have dispositions to choose from (crm's); the others' agents end
        wrap-up without one."""
        self._agent_calls.disposition_tenants = set(tenants)

    def disposition_required(self, tenant_id: int) -> bool:
        return self._agent_calls.disposition_required(tenant_id)

    def complete_wrapup(self, agent_id: str, call_id: str) -> None:
        """The agent saved the call's disposition: wrap-up may end once its time is over."""
        self._agent_calls.dispositioned.add((agent_id, call_id))
        view = self.core.agent(agent_id)
        if view is not None and view.paused == DISPOSITION_PENDING:
            self.post(ev.AgentUnpause(agent_id))

    # --- QueueDesk ------------------------------------------------------------------------

    async def enqueue(self, call: Call, request: QueueRequest) -> Outcome:
        """The caller waits in `request.queue` until the core lets them go (callers.py)."""
        return await self._callers.enqueue(call, request)

    def owns_bridge(self, bridge_id: str) -> bool:
        return self._calls.owns_bridge(bridge_id)

    def mask_callers(self, masked_caller_id: MaskedCallerId) -> None:
        """Ring phones with what `masked_caller_id` says for their user (callers' numbers
        masked where their tenant masks numbers for their role): queue offers, callbacks,
        consultations."""
        self.masked_caller_id = masked_caller_id  # agents' own calls (outbound/) too
        self._legs.masked_caller_id = masked_caller_id
        self._control.masked_caller_id = masked_caller_id

    async def connect_agent(self, call: Call, agent: str) -> Outcome:
        """Not offered through a queue: the IVR's transfer to a named agent (username)."""
        match = [a for a in self.agents.values()
                 if a.tenant_id == call.record.tenant_id and a.username == agent]
        if not match:
            return Outcome(False, "unknown_agent")
        key = await self._control.personal_queue(match[0])
        return await self.enqueue(call, QueueRequest(queue=split_queue_key(key)[1]))

    # --- agents' own outside calls (outbound.py) -------------------------------------------

    def outbound_dialled(self, call: Call, agent: AgentRecord, number: str) -> None:
        """The agent's own call rings `number` (journal OUTDIAL; their page says Calling…)."""
        self._outbound.dialled(call, agent, number)

    async def outbound_talk(self, call: Call, far: EventInbox, bridge_id: str,
                            agent_gone: asyncio.Task[None], agent: AgentRecord, number: str,
                            queue: str | None, *, connected: Callable[[], None]) -> str:
        """The number answered: the agent's call is the ACD's until it ends (outbound.py);
        `connected` runs once the ACD was told."""
        return await self._outbound.talk(call, far, bridge_id, agent_gone, agent, number, queue,
                                         connected=connected)

    # --- a supervisor's actions on a waiting call -------------------------------------------

    def _waiting_call(self, call_id: str) -> Waiting:
        waiting = self._calls.live(call_id)
        if waiting.connected:
            raise CallControlError("conflict", "the call is with an agent: transfer it instead")
        return waiting

    async def move(self, call_id: str, queue: str, *, by: str) -> None:
        """Move a waiting caller to another queue of their tenant (offered there, journal
        TRANSFER then ENTERQUEUE); `by`: the supervisor, journaled."""
        waiting = self._waiting_call(call_id)
        key = queue_key(waiting.tenant_id, queue)
        if self.core.queue(key) is None:
            raise CallControlError("not-found", f"no queue {queue!r}")
        if waiting.queue == queue:
            raise CallControlError("conflict", f"the call waits in {queue} already")
        self.post(ev.TransferToQueue(call_id, key))
        await waiting.call.note("supervisor.move", queue=queue, before=waiting.queue, by=by)
        waiting.queue = queue
        waiting.call.log.set_queue(waiting.call.record, queue)

    async def to_voicemail(self, call_id: str, *, by: str) -> None:
        """A waiting caller leaves the queue for its mailbox (journal TRANSFER to voicemail): a
        caller from an IVR flow records a message there; `by`: the supervisor."""
        waiting = self._waiting_call(call_id)
        waiting.voicemail = waiting.queue
        await waiting.call.note("supervisor.voicemail", queue=waiting.queue, by=by)
        self.post(ev.CallTransferred(call_id, f"voicemail:{waiting.queue}"))

    async def prioritize(self, call_id: str, priority: int, *, by: str) -> None:
        """Change a waiting caller's priority (higher first); `by`: the supervisor."""
        waiting = self._waiting_call(call_id)
        self.post(ev.PriorityChanged(call_id, priority))
        await waiting.call.note("supervisor.priority", priority=priority, by=by)

    # --- call control of a connected call (control.py) ------------------------------------

    async def hold(self, call_id: str) -> None:
        """The caller hears music on hold, alone; the agent stays on the line (silence)."""
        await self._control.hold(call_id)

    async def unhold(self, call_id: str) -> None:
        await self._control.unhold(call_id)

    async def mute(self, call_id: str, muted: bool) -> None:
        """Mute the agent towards the caller (the agent still hears the caller)."""
        await self._control.mute(call_id, muted)

    async def hangup(self, call_id: str) -> None:
        """The agent's hangup button: their leg leaves (COMPLETEAGENT), or the caller is
        released when no agent has the call yet."""
        await self._control.hangup(call_id)

    async def send_dtmf(self, call_id: str, digits: str) -> None:
        await self._control.send_dtmf(call_id, digits)

    async def transfer(self, call_id: str, kind: str, target: str, *, attended: bool) -> None:
        """Blind: the agent leaves at once. Attended: the caller holds while the agent
        consults the target; complete_transfer / cancel_transfer end the consultation."""
        await self._control.transfer(call_id, kind, target, attended=attended)

    async def complete_transfer(self, call_id: str) -> None:
        await self._control.complete_transfer(call_id)

    async def cancel_transfer(self, call_id: str) -> None:
        await self._control.cancel_transfer(call_id)
