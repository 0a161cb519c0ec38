"""The single owner: one task feeds the pure core one event at a time and carries out the
actions it returns (journal rows are only recorded)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.actions import (
    Action,
    Announce,
    CallEnd,
    CallEnded,
    CancelOffer,
    Connect,
    JournalRow,
    LeaveEmpty,
    Offer,
    Overflow,
    RejectJoin,
    ReleaseAgentLeg,
    StartMoh,
    WrapUpStarted,
)
from pbx_stasis.acd.directory import split_queue_key
from pbx_stasis.acd.legs import Legs
from pbx_stasis.acd.model import OverflowTarget
from pbx_stasis.acd.stay import (
    DISPOSITION_PENDING,
)
from pbx_stasis.calls.handoff import Outcome
from pbx_stasis.store import NewEvent

log = logging.getLogger(__name__)


class Owner(Legs):
    """The owner task: `_own` feeds the core, `_carry_out` executes its actions."""

    # --- the owner ------------------------------------------------------------------------

    async def _own(self) -> None:
        while True:
            deadline = self.core.next_deadline()
            event: ev.AcdInput
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

    async def _apply(self, event: ev.AcdInput) -> None:
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
        if isinstance(action, JournalRow):
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
            self._note_agent_call(action.agent_id, action.call_id)
            self._ring(action)
        elif isinstance(action, CancelOffer):
            leg = self._legs.get(action.offer_id)
            if leg is not None:
                self._drop(leg)
        elif isinstance(action, Connect):
            self._note_agent_call(action.agent_id, action.call_id)
            self._connect(action)
        elif isinstance(action, ReleaseAgentLeg):
            waiting = self._waiting.get(action.call_id)
            if waiting is not None and waiting.agent_leg is not None:
                self._drop(waiting.agent_leg)  # the agent is done with this call
                waiting.agent_leg, waiting.connected, waiting.muted = None, False, False
        elif isinstance(action, CallEnded):
            self._settle(action.call_id, self._outcome(action))
        elif isinstance(action, WrapUpStarted):
            self._start_wrapup(action)
        elif isinstance(action, Overflow | RejectJoin | LeaveEmpty):
            reason = {Overflow: "overflow", RejectJoin: "refused", LeaveEmpty: "empty"}[
                type(action)
            ]
            self._settle(action.call_id, Outcome(False, reason, **_target(action.target)))
        # Otherwise a call leaves the core only with Overflow, RejectJoin or LeaveEmpty.

    def _note_agent_call(self, agent_id: str, call_id: str) -> None:
        if agent_id in self.agents:
            self.agent_calls[agent_id] = call_id

    def _outcome(self, ended: CallEnded) -> Outcome:
        if ended.how is CallEnd.COMPLETED:
            agent = self.agents.get(ended.agent_id or "")
            return Outcome(True, "completed", agent=agent.username if agent else None)
        if ended.how is CallEnd.TRANSFERRED:
            return Outcome(True, "transferred", agent=None)
        return Outcome(False, "caller_hangup")

    def _start_wrapup(self, started: WrapUpStarted) -> None:
        agent = self.agents.get(started.agent_id)
        if agent is None:
            return
        self.wrapup_ends[agent.agent_id] = started.until
        call = self.agent_calls.get(agent.agent_id)
        # Desk phones (a fixed contact) have no page to save a disposition from.
        if agent.contact is None and call is not None and call not in self._dispositioned:
            self.post(ev.AgentPause(agent.agent_id, DISPOSITION_PENDING))

    # --- journal ---------------------------------------------------------------------------

    def _journal(self, row: JournalRow) -> None:
        """Record the row in call_events: it decides nothing (the core's actions do)."""
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


def _target(target: OverflowTarget | None) -> dict[str, str]:
    if target is None:
        return {}
    return {"overflow_kind": str(target.kind), "overflow_target": target.target}
