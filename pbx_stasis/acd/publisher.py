"""What the ACD tells people: after each decision of the core, the agents and queues its actions
touched go on the bus (agent:state, queue:stats), and so do its live calls (call:incoming,
call:state); the web's views of them are made here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from pbx_stasis.acd.actions import Offer
from pbx_stasis.acd.core import Acd
from pbx_stasis.acd.directory import AgentRecord, split_queue_key
from pbx_stasis.acd.model import AgentState, is_personal_queue
from pbx_stasis.acd.shared import AgentCalls
from pbx_stasis.acd.stats import Stats
from pbx_stasis.acd.stay import DISPOSITION_PENDING, Waiting, live_call
from pbx_stasis.acd.topics import AGENT_STATE, QUEUE_STATS, AgentStateChanged, QueueStatsChanged
from pbx_stasis.bus import Bus
from pbx_stasis.calls.events import CALL_INCOMING, CALL_STATE, CallRinging, CallUpdated
from pbx_stasis.store import Direction

C = TypeVar("C", CallRinging, CallUpdated)


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class AcdPublisher:
    """The ACD service's publisher: fed by the agents and queues the core's actions touched."""

    def __init__(
        self,
        *,
        bus: Bus,
        core: Acd,
        stats: Stats,
        agents: dict[str, AgentRecord],
        agent_calls: AgentCalls,
        clock: Callable[[], float],
    ) -> None:
        self.bus = bus
        self.core = core
        self.stats = stats
        self.agents = agents
        self.agent_calls = agent_calls
        self.clock = clock

    def agent_changed(self, agent_id: str) -> None:
        agent = self.agents.get(agent_id)
        if agent is not None and self.bus.listened(AGENT_STATE, agent.tenant_id):
            self.bus.publish(AGENT_STATE, agent.tenant_id, self.agent_view(agent))

    def queue_changed(self, key: str) -> None:
        tenant_id, _ = split_queue_key(key)
        if self.bus.listened(QUEUE_STATS, tenant_id):
            self.bus.publish(QUEUE_STATS, tenant_id, self.queue_stats(key))

    def call_ringing(self, waiting: Waiting, agent: AgentRecord) -> None:
        """An agent's phone rings for the call (call:incoming, for that agent's page)."""
        self.bus.publish(CALL_INCOMING, waiting.tenant_id,
                         live_call(waiting, "ringing", agent, CallRinging))

    def callback_ringing(self, offer: Offer, agent: AgentRecord, state: str = "ringing") -> None:
        """An agent is reserved for a callback: their page shows whom they are about to call
        (call:incoming while ringing, call:state once dialling, talking, ended)."""
        def view(kind: type[C]) -> C:
            now = _when(self.clock())
            return kind(call_id=offer.call_id, direction=Direction.OUTBOUND, from_number="",
                        to_number=offer.callback or offer.caller, state=state, started_at=now,
                        connected_at=now if state == "talking" else None,
                        queue=split_queue_key(offer.queue)[1], agent_user_id=agent.user_id,
                        callback=offer.callback)

        if state == "ringing":
            self.bus.publish(CALL_INCOMING, agent.tenant_id, view(CallRinging))
        else:
            self.bus.publish(CALL_STATE, agent.tenant_id, view(CallUpdated))

    def call_changed(self, waiting: Waiting, state: str) -> None:
        """The call with its agent: talking, held, consulting (call:state)."""
        leg = waiting.agent_leg
        agent = self.agents.get(leg.offer.agent_id) if leg is not None else None
        self.bus.publish(CALL_STATE, waiting.tenant_id,
                         live_call(waiting, state, agent, CallUpdated))

    def agent_view(self, agent: AgentRecord) -> AgentStateChanged:
        """The agent as the pages show them."""
        core = self.core.agent(agent.agent_id)
        if core is None:
            return AgentStateChanged(agent.user_id, agent.name, AgentState.OFFLINE, _when(0),
                                     member_of=tuple(sorted(agent.queues)))
        state, reason = core.state, core.reason or None
        wrapup_ends = self.agent_calls.wrapup_ends.get(agent.agent_id)
        if state is AgentState.PAUSED and reason == DISPOSITION_PENDING:
            # Still in wrap-up as far as the agent is concerned: the disposition is missing.
            state = AgentState.WRAP_UP
        in_call = state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP)
        return AgentStateChanged(
            user_id=agent.user_id,
            name=agent.name,
            state=state,
            since=_when(core.since),
            reason=reason,
            call_id=self.agent_calls.current.get(agent.agent_id) if in_call else None,
            wrapup_ends_at=_when(wrapup_ends) if wrapup_ends and state is AgentState.WRAP_UP
            else None,
            calls_today=core.calls_today,
            registered=core.registered,
            # A personal queue (transfers to this agent) is no queue they are logged into.
            queues=tuple(sorted(split_queue_key(q)[1] for q in core.queues
                                if not is_personal_queue(q))),
            member_of=tuple(sorted(agent.queues)),
        )

    def queue_stats(self, key: str) -> QueueStatsChanged:
        """A queue's live figures (acd/figures.py through acd/stats.py)."""
        now = self.clock()
        snap = self.stats.queue(key, now)
        members = snap.agents
        logged_in = sum(n for state, n in members.items() if state is not AgentState.OFFLINE)
        return QueueStatsChanged(
            queue=split_queue_key(key)[1],
            waiting=snap.waiting,
            oldest_waiting_since=_when(now - snap.longest_wait) if snap.waiting else None,
            agents_logged_in=logged_in,
            agents_available=members.get(AgentState.AVAILABLE, 0),
            offered_today=snap.offered,
            answered_today=snap.answered,
            abandoned_today=snap.abandoned,
            answered_in_service_level_today=snap.answered_within,
            handle_seconds_today=round(snap.handle, 1),
            handled_today=snap.handled,
            service_level_today=snap.service_level,
            callbacks_waiting=snap.callbacks,
            callbacks_today=snap.figures.callbacks,
        )
