"""The single owner: one task feeds the pure core one event at a time and carries out the
actions it returns through the agent legs (journal rows are only recorded)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.actions import (
    Action,
    Announce,
    CallEnd,
    CallEnded,
    CancelOffer,
    Connect,
    DialCallback,
    JournalEvent,
    JournalRow,
    LeaveEmpty,
    Offer,
    Overflow,
    RejectJoin,
    ReleaseAgentLeg,
    StartMoh,
    WrapUpStarted,
)
from pbx_stasis.acd.callback_desk import CallbackDesk
from pbx_stasis.acd.core import Acd
from pbx_stasis.acd.directory import AgentRecord, split_queue_key
from pbx_stasis.acd.publisher import AcdPublisher
from pbx_stasis.acd.shared import AgentCalls, Calls, Inbox
from pbx_stasis.acd.stats import Stats
from pbx_stasis.acd.stay import (
    DISPOSITION_PENDING,
    Leg,
)
from pbx_stasis.calls.handoff import Outcome
from pbx_stasis.store import NewEvent

log = logging.getLogger(__name__)


class AgentLegs(Protocol):
    """What the owner asks of the agent legs (`legs.Legs`): the core's actions, over ARI."""

    to_dial: deque[Leg]

    def ring(self, offer: Offer) -> None: ...

    async def dial(self, leg: Leg) -> None: ...

    def cancel(self, offer_id: int) -> None: ...

    def connect(self, action: Connect) -> None: ...

    def release(self, call_id: str) -> None: ...

    def start_moh(self, call_id: str, moh_class: str) -> None: ...

    def seat_unrung(self, call_id: str) -> None: ...

    def announce(self, action: Announce) -> None: ...

    def leg(self, offer_id: int) -> Leg | None: ...


class Owner:
    """The owner task: `_own` feeds the core, `_carry_out` executes its actions."""

    def __init__(
        self,
        *,
        core: Acd,
        stats: Stats,
        inbox: Inbox,
        legs: AgentLegs,
        calls: Calls,
        agents: dict[str, AgentRecord],
        agent_calls: AgentCalls,
        publisher: AcdPublisher,
        journal: Callable[[Iterable[NewEvent]], None],
        clock: Callable[[], float],
    ) -> None:
        self.core = core
        self.stats = stats
        self.inbox = inbox
        self.legs = legs
        self.calls = calls
        self.agents = agents
        self.agent_calls = agent_calls
        self.publisher = publisher
        self.journal = journal  # the journal writer's append: call_events rows
        self.clock = clock
        self.decisions = 0
        self.callbacks: CallbackDesk | None = None  # the callbacks feature, when the app has it
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._own(), name="acd-owner")
        self.inbox.owner_running = True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.inbox.owner_running = False
        self.inbox.release_barriers()

    async def _own(self) -> None:
        queue = self.inbox.queue
        loop = asyncio.get_running_loop()
        # One timer for the core's next deadline, set again only when that deadline moves
        # (a timeout around every read cost a timer set and cancelled per event); when it
        # fires it posts a Tick behind what is already there, which the core takes at any time.
        timer: asyncio.TimerHandle | None = None
        timer_for: float | None = None

        def tick() -> None:
            nonlocal timer_for
            timer_for = None  # fired: the next turn sets it again if the core still waits
            queue.put_nowait(ev.Tick())

        try:
            while True:
                deadline = self.core.next_deadline()
                if deadline != timer_for:
                    if timer is not None:
                        timer.cancel()
                    timer, timer_for = None, deadline
                    if deadline is not None:
                        timer = loop.call_later(max(0.0, deadline - self.clock()), tick)
                event = await queue.get()
                if isinstance(event, asyncio.Future):  # a barrier
                    if not event.done():
                        event.set_result(None)
                    continue
                await self.apply(event)
        finally:
            if timer is not None:
                timer.cancel()

    async def apply(self, event: ev.AcdInput, *, journal: bool = True) -> None:
        """Feed one event to the core and carry out its actions (the owner's turn).
        `journal=False`: the event restores what the journal already says (a login or pause
        before a restart): its rows reach the wallboard's fold, not the journal again."""
        try:
            actions = self.core.feed(event, self.clock())
        except Exception:
            log.exception("ACD core refused %r", event)
            return
        self.decisions += 1
        for action in actions:
            if isinstance(action, JournalRow) and not journal:
                continue
            try:
                self._carry_out(action)
            except Exception:
                log.exception("carrying out %r failed", action)
        # Agents' phones first: the INVITEs leave before the bookkeeping below.
        legs = self.legs
        while legs.to_dial:
            await legs.dial(legs.to_dial.popleft())
        for action in actions:
            if isinstance(action, StartMoh):  # a caller left ringing with no agent to ring
                legs.seat_unrung(action.call_id)
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
            if (action.event in (JournalEvent.ADOPTED, JournalEvent.OUTCONNECT)
                    and action.agent_id and action.call_id):
                # A carried-over talk, or the agent's own outside call.
                self._note_agent_call(action.agent_id, action.call_id)
        elif isinstance(action, StartMoh):
            self.legs.start_moh(action.call_id, action.moh_class)
        elif isinstance(action, Announce):
            self.legs.announce(action)
        elif isinstance(action, Offer):
            self._note_agent_call(action.agent_id, action.call_id)
            self.legs.ring(action)
        elif isinstance(action, CancelOffer):
            self.legs.cancel(action.offer_id)
        elif isinstance(action, Connect):
            self._note_agent_call(action.agent_id, action.call_id)
            self.legs.connect(action)
        elif isinstance(action, DialCallback):
            self._note_agent_call(action.agent_id, action.call_id)
            if self.callbacks is not None:
                self.callbacks.dial(action, self.legs.leg(action.offer_id))
            else:
                self.inbox.post(ev.CallbackFailed(action.call_id, "no callbacks", final=True))
        elif isinstance(action, ReleaseAgentLeg):
            self.legs.release(action.call_id)  # the agent is done with this call
        elif isinstance(action, CallEnded):
            self.calls.settle(action.call_id, self._outcome(action))
        elif isinstance(action, WrapUpStarted):
            self._start_wrapup(action)
        elif isinstance(action, Overflow | RejectJoin | LeaveEmpty):
            reason = {Overflow: "overflow", RejectJoin: "refused", LeaveEmpty: "empty"}[
                type(action)
            ]
            target = action.target
            self.calls.settle(action.call_id, Outcome(
                False, reason, overflow_kind=None if target is None else str(target.kind),
                overflow_target=None if target is None else target.target))
        # Otherwise a call leaves the core only with Overflow, RejectJoin or LeaveEmpty.

    def _note_agent_call(self, agent_id: str, call_id: str) -> None:
        if agent_id in self.agents:
            self.agent_calls.current[agent_id] = call_id

    def _outcome(self, ended: CallEnded) -> Outcome:
        if ended.how is CallEnd.COMPLETED:
            agent = self.agents.get(ended.agent_id or "")
            return Outcome(True, "completed", agent=agent.username if agent else None)
        if ended.how is CallEnd.TRANSFERRED:
            return Outcome(True, "transferred", agent=None)
        if ended.how is CallEnd.CALLBACK:
            return Outcome(False, "callback")
        return Outcome(False, "caller_hangup")

    def _start_wrapup(self, started: WrapUpStarted) -> None:
        agent = self.agents.get(started.agent_id)
        if agent is None:
            return
        self.agent_calls.wrapup_ends[agent.agent_id] = started.until
        call = self.agent_calls.current.get(agent.agent_id)
        # Desk phones (a fixed contact) have no page to save a disposition from, and a tenant
        # without dispositions has nothing to choose.
        if (agent.contact is None and call is not None
                and (agent.agent_id, call) not in self.agent_calls.dispositioned
                and self.agent_calls.disposition_required(agent.tenant_id)):
            self.inbox.post(ev.AgentPause(agent.agent_id, DISPOSITION_PENDING))

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
        if self.callbacks is not None and row.event in _CALLBACK_ROWS:
            self.callbacks.noted(row, tenant_id, queue, agent.user_id if agent else None)
        data: dict[str, Any] = dict(row.data)
        if agent is not None:
            data.setdefault("agent", agent.username)
        self.journal([
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


# The rows a callback's record follows (a talk's end: only those of callbacks count there).
_CALLBACK_ROWS = frozenset({
    JournalEvent.CALLBACKREQ, JournalEvent.CALLBACKQUEUED, JournalEvent.CALLBACKDIAL,
    JournalEvent.CALLBACKCONNECT, JournalEvent.CALLBACKFAIL, JournalEvent.CALLBACKCANCEL,
    JournalEvent.COMPLETECALLER, JournalEvent.COMPLETEAGENT,
})
