"""The ACD service: the façade the app, the contact center and the IVR use (`AcdService`).

Every decision (which agent, when to ring, who wins a double answer) is the core's, made one
event at a time by the owner task (`owner.py`); the service only turns ARI events into core
events and core actions into ARI requests. The owner sends only the originate of an agent's leg
(written to the socket in its own turn, the answer awaited by the leg's task: `legs.py`); every
other request runs in the call's lane (a serial executor, `stay.py`), so one slow request
delays only its own call. Call control of a connected call is `control.py`; rebuilding logins,
pauses and registrations after a (re)start is `restore.py`.

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
from dataclasses import replace
from typing import Any

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.control import CallControl
from pbx_stasis.acd.directory import AgentRecord, queue_key, split_queue_key
from pbx_stasis.acd.figures import QueueRules
from pbx_stasis.acd.model import QueueConfig
from pbx_stasis.acd.owner import Owner
from pbx_stasis.acd.provision import provision
from pbx_stasis.acd.restore import Restore
from pbx_stasis.acd.stay import (
    DISPOSITION_PENDING,
    QUEUE_BRIDGE,
    CallControlError,
    Lane,
    Talk,
    TalkWatcher,
    Waiting,
    queue_bridge_prefix,
)
from pbx_stasis.ari import AriError
from pbx_stasis.calls.handoff import Outcome, QueueRequest
from pbx_stasis.calls.inbound import Call

log = logging.getLogger(__name__)

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


class AcdService(Owner, CallControl, Restore):
    """Queues, agents and offers for every tenant: implements `handoff.QueueDesk`."""

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
        waiting = Waiting(
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
