"""The ACD's decisions, without IO: feed it events with the time, it returns actions (sans-IO).

One `Acd` owns every queue, agent, call and offer, so an agent is never offered two calls and a
call is never connected to two agents: both hold one slot for it (`_Agent.offer`,
`_Call.agent`), and every transition goes through this object, one event at a time.

Time only comes in through `feed(event, now)`. Deadlines (ring timeout, retry delay, wrap-up,
escalation, max wait, announcements) sit in a heap; before an event is handled every deadline
up to `now` fires, in order and at its own time, with a dispatch after each, so the outcome does
not depend on how often the runner sends `Tick` (it should send one at `next_deadline()`).

Costs (n agents, k queues per agent, G skill/penalty groups of agents, C callers waiting in a
queue): an agent's change O(k log n); choosing the agent for a call O(G log n) amortized (see
free.py; ringall O(m) for the m agents rung); a caller joining or leaving a queue O(C) (a sorted
list, which also gives positions); a new caller is matched in O(G log n) without looking at the
others; an agent becoming free walks the callers of their queues only until they are offered a
call (O(C) when they can take none of them, e.g. a backlog needing skills they lack); timers
O(log t). Measured: 60-90 us per event from 100 to 10,000 agents (journal rows included).
"""

from __future__ import annotations

import heapq
import itertools
import random
from bisect import insort
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from pbx_stasis.acd.actions import (
    Action,
    AgentStateChanged,
    Announce,
    CallEnd,
    CallEnded,
    CancelOffer,
    Connect,
    DialCallback,
    JournalEvent,
    JournalRow,
    JournalValue,
    LeaveEmpty,
    Offer,
    Overflow,
    RejectJoin,
    ReleaseAgentLeg,
    StartMoh,
    WrapUpStarted,
)
from pbx_stasis.acd.events import (
    AcdInput,
    AgentConfigChanged,
    AgentHungUp,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentRegistered,
    AgentUnpause,
    AgentUnregistered,
    CallArrived,
    CallAway,
    CallbackAnswered,
    CallbackCancelled,
    CallbackFailed,
    CallbackQueued,
    CallbackRequested,
    CallerHungUp,
    CallHeld,
    CallResumed,
    CallTransferred,
    ConsultTaken,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    OutboundConnected,
    OutboundDialled,
    PriorityChanged,
    QueueConfigChanged,
    TalkAdopted,
    Tick,
    TransferToQueue,
    WrapUpDone,
)
from pbx_stasis.acd.free import FreeAgents, Requirement, SortKey, group_key
from pbx_stasis.acd.model import (
    AUTOPAUSE_REASON,
    AgentConfig,
    AgentState,
    EmptyPolicy,
    OverflowKind,
    QueueConfig,
    Skills,
    Strategy,
    is_personal_queue,
    utc_day,
)

HANDLE_TIME_WINDOW = 20  # recent calls averaged for the estimated wait

# Presence of a logged-in agent, counted per queue for the empty policies.
_UNREACHABLE, _BUSY, _READY = 1, 2, 3

_OFFER, _RETRY, _WRAPUP, _MAX_WAIT, _ESCALATE, _ANNOUNCE, _CALLBACK_REST = (
    "offer",
    "retry",
    "wrapup",
    "max-wait",
    "escalate",
    "announce",
    "callback-rest",
)


@dataclass(eq=False)
class _Offer:
    id: int
    call: _Call
    agent: _Agent
    at: float


@dataclass(eq=False)
class _Callback:
    """What makes a waiting entry a callback: nobody is on the line, the customer is dialled
    once an agent is reserved for it."""

    number: str
    contact: str = ""
    attempts: int = 0  # dials made
    resting: bool = False  # in its retry delay: not offered until it ends
    answered: bool = False  # the customer answered: a talk like any other


@dataclass(eq=False)
class _Call:
    id: str
    caller: str
    priority: int
    skills: Skills
    max_wait: float | None  # the call's own, over the queue's
    queue: _Queue | None = None  # None while connected or after a transfer out of the queue
    home: _Queue | None = None  # the queue of the current stay (also while connected)
    seq: int = 0
    entered_at: float = 0.0
    orig_position: int = 0
    step: int = 0  # escalation steps passed
    offers: dict[str, _Offer] = field(default_factory=dict)  # agent id -> offer
    agent: _Agent | None = None
    connected_at: float = 0.0
    node: str | None = None  # the Asterisk node the caller is on (None: one node, or unknown)
    held: bool = False
    callback: _Callback | None = None
    outbound: bool = False  # an agent's own outside call, until it is transferred to a queue
    # A campaign's customer (its id, on every row of the call): its stay is in the campaign's
    # queue, the agent's part is outbound work (no queue's figures), until a transfer.
    campaign: int | None = None
    # The last real queue it was in: an agent's personal queue (a transfer to them) has no
    # settings of its own, so the wrap-up after that agent's part is this queue's.
    origin: _Queue | None = None


@dataclass(eq=False)
class _Agent:
    config: AgentConfig
    queues: set[str] = field(default_factory=set)
    registered: bool = False
    # The nodes that cannot reach the phone while another can (acd/reach.py): not offered
    # the callers on those.
    unreachable_on: frozenset[str] = frozenset()
    paused: str | None = None
    offer: _Offer | None = None
    calls: set[str] = field(default_factory=set)  # connected calls (several only with ring_in_use)
    wrapup_started: float | None = None
    wrapup_of: tuple[str, str | None] | None = None  # (call, queue) the wrap-up follows
    retry_until: float | None = None
    logged_in_at: float = 0.0
    last_call_end: float | None = None
    calls_today: int = 0
    missed: int = 0  # consecutive missed offers, for autopause
    state: AgentState = AgentState.OFFLINE
    reason: str = "logged out"
    since: float = 0.0
    level: int = _UNREACHABLE
    # The config's, copied: read a dozen times a call (a property was a call each time). An
    # agent's config may be replaced, never its id.
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.id = self.config.id


@dataclass(eq=False)
class _Queue:
    config: QueueConfig
    free: FreeAgents
    waiting: list[_Call] = field(default_factory=list)  # by priority, then arrival
    members: set[str] = field(default_factory=set)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # members per presence
    handle_times: deque[float] = field(default_factory=lambda: deque(maxlen=HANDLE_TIME_WINDOW))
    order: dict[str, int] = field(default_factory=dict)  # agent id -> place in agent_order
    name: str = field(init=False)  # the config's, copied (as _Agent.id); a queue keeps its name

    def __post_init__(self) -> None:
        self.name = self.config.name


def _waiting_order(call: _Call) -> tuple[int, float, int]:
    # By entry time, not arrival order, so a call adopted after a restart keeps its place.
    return (-call.priority, call.entered_at, call.seq)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _s(seconds: float) -> float:
    return round(float(seconds), 3)


# --- read-only views ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentView:
    id: str
    state: AgentState
    reason: str
    since: float
    queues: frozenset[str]
    registered: bool
    paused: str | None
    offered_call: str | None
    calls: frozenset[str]
    calls_today: int
    missed: int


@dataclass(frozen=True)
class CallView:
    id: str
    queue: str | None  # the queue it waits in, or was connected from
    position: int | None  # while waiting
    agent_id: str | None  # once connected
    offered_to: frozenset[str]
    priority: int
    entered_at: float


class Acd:
    """All queues and agents of one ACD; see the module docstring and README.md."""

    def __init__(
        self,
        queues: Iterable[QueueConfig] = (),
        agents: Iterable[AgentConfig] = (),
        *,
        rng: random.Random | None = None,
        day_of: Callable[[float], int] = utc_day,
        start: float = 0.0,
        first_offer_id: int = 1,
    ) -> None:
        self._rng = rng if rng is not None else random.Random()
        self._day_of = day_of
        self._now = float(start)  # the latest time fed
        self._at = float(start)  # the time of what is being decided (a timer's own deadline)
        self._day = day_of(start)
        self._queues: dict[str, _Queue] = {}
        self._agents: dict[str, _Agent] = {}
        self._calls: dict[str, _Call] = {}
        self._offers: dict[int, _Offer] = {}
        # Offer ids name the agents' legs (<call>-o<offer>): a restarted app must not number
        # from where the last one did, or it rings a carried-over conversation's leg's id.
        self._offer_ids = itertools.count(first_offer_id)
        self._seq = itertools.count(1)
        self._timers: list[tuple[float, int, str, str]] = []  # (deadline, token, kind, ref)
        self._timer_tokens: dict[tuple[str, str], int] = {}
        self._timer_seq = itertools.count()
        # What may make a new match; between events nothing else can (see _dispatch).
        self._new_calls: dict[str, _Call] = {}  # ready since the last dispatch, or widened
        self._split: set[str] = set()  # agents some node cannot reach while another can
        self._new_free: dict[str, set[str]] = {}  # queue -> agents free (or re-keyed) since
        self._rescan: set[str] = set()  # queues to match from scratch (configuration changed)
        self._empty_dirty: set[str] = set()  # queues whose presence went down
        self._out: list[Action] = []
        for queue in queues:
            self._add_queue(queue)
        for agent in agents:
            self._agents[agent.id] = _Agent(agent)

    # --- public API -----------------------------------------------------------------------------

    def feed(self, event: AcdInput, now: float) -> list[Action]:
        """Handle one event at time `now` (epoch seconds; a time earlier than the last is taken
        as the last). Returns the actions to execute, in order."""
        self._now = max(float(now), self._now)
        out: list[Action] = []
        self._out = out
        self._settle()  # deadlines up to now fire first, each at its own time
        self._set_time(self._now)
        self._handle(event)
        self._settle()
        self._out = []
        return out

    def next_deadline(self) -> float | None:
        """When the next timer is due: send a Tick then (None: nothing scheduled)."""
        while self._timers:
            deadline, token, kind, ref = self._timers[0]
            if self._timer_tokens.get((kind, ref)) == token:
                return deadline
            heapq.heappop(self._timers)
        return None

    @property
    def now(self) -> float:
        return self._now

    def queue(self, name: str) -> QueueConfig | None:
        q = self._queues.get(name)
        return None if q is None else q.config

    def queue_names(self) -> list[str]:
        return sorted(self._queues)

    def waiting(self, queue: str) -> list[str]:
        """The call ids waiting in a queue, in order (position 1 first)."""
        q = self._queues.get(queue)
        return [] if q is None else [call.id for call in q.waiting]

    def agent(self, agent_id: str) -> AgentView | None:
        a = self._agents.get(agent_id)
        if a is None:
            return None
        return AgentView(
            id=a.id,
            state=a.state,
            reason=a.reason,
            since=a.since,
            queues=frozenset(a.queues),
            registered=a.registered,
            paused=a.paused,
            offered_call=None if a.offer is None else a.offer.call.id,
            calls=frozenset(a.calls),
            calls_today=a.calls_today,
            missed=a.missed,
        )

    def agent_ids(self) -> list[str]:
        return sorted(self._agents)

    def agent_config(self, agent_id: str) -> AgentConfig | None:
        a = self._agents.get(agent_id)
        return None if a is None else a.config

    def call(self, call_id: str) -> CallView | None:
        c = self._calls.get(call_id)
        if c is None:
            return None
        return CallView(
            id=c.id,
            queue=None if c.home is None else c.home.name,
            position=None if c.queue is None else c.queue.waiting.index(c) + 1,
            agent_id=None if c.agent is None else c.agent.id,
            offered_to=frozenset(c.offers),
            priority=c.priority,
            entered_at=c.entered_at,
        )

    def call_ids(self) -> list[str]:
        return sorted(self._calls)

    def audit(self) -> list[str]:
        """Problems found by checking every index against a recomputation (empty: consistent).

        O(everything): for tests and debugging, not for the hot path.
        """
        return list(self._audit())

    # --- time -----------------------------------------------------------------------------------

    def _set_time(self, at: float) -> None:
        self._at = max(self._at, at)
        day = self._day_of(self._at)
        if day != self._day:
            self._day = day
            for a in self._agents.values():
                a.calls_today = 0
                self._refresh(a)  # fewest-calls keys change

    def _schedule(self, kind: str, ref: str, deadline: float) -> None:
        token = next(self._timer_seq)
        self._timer_tokens[(kind, ref)] = token
        heapq.heappush(self._timers, (deadline, token, kind, ref))
        if len(self._timers) > 2 * len(self._timer_tokens) + 64:
            self._timers = [t for t in self._timers if self._timer_tokens.get((t[2], t[3])) == t[1]]
            heapq.heapify(self._timers)

    def _unschedule(self, kind: str, ref: str) -> None:
        self._timer_tokens.pop((kind, ref), None)

    def _settle(self) -> None:
        """Run what the last change made possible, and every deadline up to now."""
        while True:
            if self._empty_dirty:
                self._leave_empty()
            elif self._new_calls or self._new_free or self._rescan:
                self._dispatch()
            else:
                deadline = self.next_deadline()
                if deadline is None or deadline > self._now:
                    return
                _, _token, kind, ref = heapq.heappop(self._timers)
                del self._timer_tokens[(kind, ref)]
                self._set_time(deadline)
                self._fire(kind, ref)

    def _fire(self, kind: str, ref: str) -> None:
        if kind == _OFFER:
            self._end_offer(self._offers[int(ref)], "timeout", missed=True, hang_up=True)
        elif kind == _RETRY:
            a = self._agents[ref]
            a.retry_until = None
            self._refresh(a)
        elif kind == _WRAPUP:
            self._end_wrapup(self._agents[ref], early=False)
        else:
            call = self._calls[ref]
            if kind == _MAX_WAIT:
                self._max_wait(call)
            elif kind == _ESCALATE:
                self._escalate(call)
            elif kind == _ANNOUNCE:
                self._announce(call)
            elif kind == _CALLBACK_REST and call.callback is not None:
                call.callback.resting = False
                self._new_calls[call.id] = call

    # --- events ---------------------------------------------------------------------------------

    def _handle(self, event: AcdInput) -> None:
        match event:
            case CallArrived():
                self._on_call_arrived(event)
            case TalkAdopted():
                self._on_talk_adopted(event)
            case OutboundDialled(call_id=call_id, agent_id=agent_id, number=number):
                if (a := self._agents.get(agent_id)) is not None:
                    self._emit(JournalRow(JournalEvent.OUTDIAL, self._at, call_id, None, a.id,
                                          {"number": number}))
            case OutboundConnected():
                self._on_outbound_connected(event)
            case CallAway():
                if event.queue in self._queues:  # counted, never held: the call is over
                    self._emit(JournalRow(
                        JournalEvent.AWAY, event.ended_at, event.call_id, event.queue, None,
                        {"caller": event.caller, "why": event.why,
                         "wait": _s(max(0.0, event.ended_at - event.entered_at))}))
            case CallerHungUp(call_id=call_id):
                self._on_caller_hung_up(call_id)
            case AgentHungUp(call_id=call_id, agent_id=agent_id):
                call = self._calls.get(call_id)
                if call is not None and call.agent is not None and call.agent.id == agent_id:
                    if call.callback is not None and not call.callback.answered:
                        # The agent left before the customer answered: no attempt spent.
                        self._callback_not_answered(call, "agent hung up", count=False)
                    else:
                        self._complete(call, JournalEvent.COMPLETEAGENT)
            case OfferAnswered():
                self._on_answered(event)
            case OfferRejected() | OfferFailed():
                o = self._offers.get(event.offer_id)
                if o is not None and o.call.id == event.call_id and o.agent.id == event.agent_id:
                    self._end_offer(o, event.reason, missed=True, hang_up=False)
            case TransferToQueue():
                self._on_transfer_to_queue(event)
            case CallTransferred():
                self._on_transferred(event)
            case ConsultTaken():
                self._on_consult_taken(event)
            case PriorityChanged(call_id=call_id, priority=priority):
                call = self._calls.get(call_id)
                if call is not None and call.queue is not None and call.priority != priority:
                    q = call.queue
                    q.waiting.remove(call)
                    call.priority = priority
                    insort(q.waiting, call, key=_waiting_order)
                    self._new_calls[call.id] = call  # it may now come before a free agent
            case CallHeld(call_id=call_id) | CallResumed(call_id=call_id):
                self._on_hold(call_id, isinstance(event, CallHeld))
            case AgentLogin():
                self._on_login(event)
            case AgentLogout():
                self._on_logout(event)
            case AgentPause(agent_id=agent_id, reason=reason):
                if (a := self._agents.get(agent_id)) is not None:
                    self._pause(a, reason, auto=False)
            case AgentUnpause(agent_id=agent_id):
                if (a := self._agents.get(agent_id)) is not None:
                    self._unpause(a)
            case AgentRegistered(agent_id=agent_id, unreachable_on=nodes):
                if (a := self._agents.get(agent_id)) is not None:
                    self._set_registered(a, True, nodes)
            case AgentUnregistered(agent_id=agent_id):
                if (a := self._agents.get(agent_id)) is not None:
                    self._set_registered(a, False, frozenset())
            case WrapUpDone(agent_id=agent_id):
                a = self._agents.get(agent_id)
                if a is not None and a.wrapup_started is not None:
                    self._end_wrapup(a, early=True)
            case QueueConfigChanged(queue=config):
                self._on_queue_config(config)
            case AgentConfigChanged(agent=config):
                self._on_agent_config(config)
            case CallbackRequested():
                self._on_callback_requested(event)
            case CallbackQueued():
                self._on_callback_queued(event)
            case CallbackAnswered(callback_id=callback_id):
                self._on_callback_answered(callback_id)
            case CallbackFailed(callback_id=callback_id, reason=reason, final=final):
                call = self._calls.get(callback_id)
                if (call is not None and call.callback is not None and call.agent is not None
                        and not call.callback.answered):
                    self._callback_not_answered(call, reason, count=True, final=final)
            case CallbackCancelled(callback_id=callback_id):
                self._on_callback_cancelled(callback_id)
            case Tick():
                pass

    def _on_call_arrived(self, e: CallArrived) -> None:
        if e.call_id in self._calls:
            return  # already ours: a duplicate from a retried delivery
        q = self._queues.get(e.queue)
        if q is None:
            self._emit(RejectJoin(e.call_id, e.queue, "unknown-queue", None))
            return
        call = _Call(e.call_id, e.caller, e.priority, e.skills, e.max_wait,
                     campaign=e.campaign, node=e.node)
        self._calls[call.id] = call
        entered = self._at if e.entered_at is None else min(e.entered_at, self._at)
        self._enter(call, q, frozenset({q.name}), entered, adopted=e.adopted)

    def _on_talk_adopted(self, e: TalkAdopted) -> None:
        q, a = self._queues.get(e.queue), self._agents.get(e.agent_id)
        if a is None or e.call_id in self._calls or (q is None and not e.outbound):
            return  # a call this core holds is no carried-over one (a reconnect, not a restart)
        call = _Call(e.call_id, e.caller, 0, {}, None, outbound=e.outbound,
                     campaign=e.campaign)
        call.home = q  # an outbound call's: the queue it is done for (its wrap-up), or none
        call.origin = None if q is None or e.outbound or is_personal_queue(q.name) else q
        call.connected_at = min(e.connected_at, self._at)
        call.entered_at = min(e.entered_at, call.connected_at)
        call.orig_position = e.orig_position
        call.agent = a
        if e.ended:
            # Its end is only known now; no wrap-up for a call that ended while nobody watched.
            talk = self._at - call.connected_at
            if e.outbound or q is None or e.campaign is not None:
                self._journal(JournalEvent.COMPLETECALLER, call, None, a, talk=_s(talk),
                              outbound=True, ended_away=True)
            else:
                self._journal(JournalEvent.COMPLETECALLER, call, q, a,
                              wait=_s(call.connected_at - call.entered_at), talk=_s(talk),
                              orig_position=call.orig_position, ended_away=True)
                q.handle_times.append(talk)
            a.last_call_end = self._at
            self._refresh(a)  # longest-idle keys change
            return
        self._calls[call.id] = call
        if a.wrapup_started is not None:
            self._end_wrapup(a, early=True)  # the carried-over talk is the agent's call now
        ringing = a.offer
        if ringing is not None and not (ringing.call.home and ringing.call.home.config.ring_in_use):
            self._end_offer(ringing, "on a call", missed=False, hang_up=True)
        a.calls.add(call.id)
        if e.outbound:  # the agent's own call: their figures, none of a queue's
            self._journal(JournalEvent.ADOPTED, call, None, a, action="talk",
                          connected_at=_s(call.connected_at), outbound=True,
                          **({"for_queue": q.name} if q is not None else {}))
        else:
            if e.connect_lost and q is not None:
                # One CONNECT per answered call: the dead process's was never written. At the
                # moment it happened (the figures' time), ring time unknown.
                self._emit(JournalRow(JournalEvent.CONNECT, call.connected_at, call.id, q.name,
                                      a.id, {"wait": _s(call.connected_at - call.entered_at),
                                             "ring": 0.0, "position": call.orig_position,
                                             "orig_position": call.orig_position,
                                             "restored": True}))
            self._journal(JournalEvent.ADOPTED, call, q, a, action="talk",
                          connected_at=_s(call.connected_at))
        self._refresh(a)

    def _on_outbound_connected(self, e: OutboundConnected) -> None:
        a = self._agents.get(e.agent_id)
        if a is None or e.call_id in self._calls:
            return
        call = _Call(e.call_id, e.number, 0, {}, None, outbound=True)
        call.home = self._queues.get(e.queue or "")  # its wrap-up time, no figure of its own
        call.agent, call.connected_at = a, self._at
        call.entered_at = self._at
        self._calls[call.id] = call
        if a.wrapup_started is not None:
            self._end_wrapup(a, early=True)  # dialling out ends the last call's wrap-up
        if a.offer is not None:  # rung meanwhile (ring_in_use): the agent is on this call now
            self._end_offer(a.offer, "on a call", missed=False, hang_up=True)
        a.calls.add(call.id)
        self._journal(JournalEvent.OUTCONNECT, call, None, a, number=e.number,
                      **({"for_queue": call.home.name} if call.home else {}))
        self._refresh(a)

    def _on_caller_hung_up(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is None:
            return
        if call.callback is not None and not call.callback.answered:
            # Nobody waits on the line of a callback: its customer's leg not answering is
            # CallbackFailed, not a hangup.
            return
        if call.agent is not None:
            self._complete(call, JournalEvent.COMPLETECALLER)
        else:
            self._exit_waiting(call, JournalEvent.ABANDON, "caller hung up")
            self._forget(call)
            self._emit(CallEnded(call.id, CallEnd.ABANDONED))

    def _on_answered(self, e: OfferAnswered) -> None:
        o = self._offers.get(e.offer_id)
        if o is None or o.call.id != e.call_id or o.agent.id != e.agent_id:
            # Answered after it was cancelled (ringall's second answer, a timeout, the caller
            # gone): that leg must not reach the caller.
            self._emit(CancelOffer(e.offer_id, e.call_id, e.agent_id, "stale"))
            return
        call, a = o.call, o.agent
        q = call.queue
        assert q is not None
        self._drop_offer(o)
        position = q.waiting.index(call) + 1
        q.waiting.remove(call)
        call.queue = None
        self._unschedule_call(call)
        if a.wrapup_started is not None:
            # Rung during a call (ring_in_use) that has ended since: the new call ends wrap-up.
            self._end_wrapup(a, early=True)
        call.agent, call.connected_at = a, self._at
        a.calls.add(call.id)
        a.missed = 0
        if call.callback is not None:
            # The agent is reserved for it; the customer is dialled now.
            cb = call.callback
            cb.attempts += 1
            self._journal(JournalEvent.CALLBACKDIAL, call, q, a, offer_id=o.id,
                          number=cb.number, attempt=cb.attempts,
                          wait=_s(self._at - call.entered_at))
            self._emit(DialCallback(o.id, call.id, a.id, q.name, cb.number, cb.attempts))
            self._refresh(a)
            return
        a.calls_today += 1
        self._journal(
            JournalEvent.CONNECT,
            call,
            q,
            a,
            offer_id=o.id,
            wait=_s(self._at - call.entered_at),
            ring=_s(self._at - o.at),
            position=position,
            orig_position=call.orig_position,
        )
        self._emit(Connect(o.id, call.id, a.id, q.name))
        for other in list(call.offers.values()):
            self._end_offer(other, "answered elsewhere", missed=False, hang_up=True)
        self._refresh(a)

    def _on_transfer_to_queue(self, e: TransferToQueue) -> None:
        call, target = self._calls.get(e.call_id), self._queues.get(e.queue)
        if call is None or target is None:
            return
        if call.agent is not None:
            self._transfer_connected(call, e.queue, "queue")
        else:
            self._exit_waiting(call, JournalEvent.TRANSFER, "transferred", target=e.queue)
        self._enter(call, target, frozenset({target.name}), self._at)

    def _on_transferred(self, e: CallTransferred) -> None:
        call = self._calls.get(e.call_id)
        if call is None:
            return
        kind = "attended" if e.attended else "blind"
        if call.agent is not None:
            self._transfer_connected(call, e.target, kind)
        else:
            self._exit_waiting(
                call, JournalEvent.TRANSFER, "transferred", target=e.target, kind=kind
            )
        self._forget(call)
        self._emit(CallEnded(call.id, CallEnd.TRANSFERRED))

    def _on_consult_taken(self, e: ConsultTaken) -> None:
        call, q, b = self._calls.get(e.call_id), self._queues.get(e.queue), self._agents.get(
            e.agent_id)
        if call is None or q is None or b is None or call.agent is None or call.agent is b:
            return
        self._transfer_connected(call, f"agent:{e.agent_id}", "attended")
        call.home, call.agent, call.connected_at, call.entered_at = q, b, self._at, self._at
        call.held = False
        if b.wrapup_started is not None:
            self._end_wrapup(b, early=True)  # taking the call over ends their last wrap-up
        if b.offer is not None and not (b.offer.call.home and b.offer.call.home.config.ring_in_use):
            self._end_offer(b.offer, "on a call", missed=False, hang_up=True)
        b.calls.add(call.id)
        b.calls_today += 1
        self._journal(JournalEvent.CONNECT, call, q, b, offer_id=e.leg_id, wait=0.0, ring=0.0,
                      position=0, orig_position=call.orig_position, attended=True)
        self._emit(Connect(e.leg_id, call.id, b.id, q.name))
        self._refresh(b)

    def _on_hold(self, call_id: str, hold: bool) -> None:
        call = self._calls.get(call_id)
        if call is None or call.agent is None or call.held == hold:
            return
        call.held = hold
        event = JournalEvent.HOLD if hold else JournalEvent.UNHOLD
        self._journal(event, call, None if call.outbound else call.home, call.agent)

    def _on_login(self, e: AgentLogin) -> None:
        a = self._agents.get(e.agent_id)
        if a is None:
            return
        added = sorted(name for name in e.queues if name in self._queues and name not in a.queues)
        if not added:
            return
        if not a.queues:
            a.logged_in_at = self._at
        for name in added:
            q = self._queues[name]
            a.queues.add(name)
            q.members.add(a.id)
            q.counts[a.level] += 1
            self._journal(JournalEvent.LOGIN, None, q, a)
        self._refresh(a)

    def _on_logout(self, e: AgentLogout) -> None:
        a = self._agents.get(e.agent_id)
        if a is None:
            return
        names = a.queues if e.queues is None else a.queues & set(e.queues)
        for name in sorted(names):
            q = self._queues[name]
            if a.offer is not None and a.offer.call.home is q:
                self._end_offer(a.offer, "logged out", missed=False, hang_up=True)
            q.free.discard(a.id)
            q.members.discard(a.id)
            q.counts[a.level] -= 1
            a.queues.discard(name)
            self._empty_dirty.add(name)
            self._journal(JournalEvent.LOGOUT, None, q, a)
        self._refresh(a)

    def _on_queue_config(self, config: QueueConfig) -> None:
        q = self._queues.get(config.name)
        if q is None:
            self._add_queue(config)
            return
        old, q.config = q.config, config
        q.order = {agent_id: i for i, agent_id in enumerate(config.agent_order)}
        if (old.strategy, old.agent_order) != (config.strategy, config.agent_order):
            q.free = FreeAgents(config.strategy)
        for agent_id in sorted(q.members):
            self._refresh(self._agents[agent_id])
        for call in q.waiting:
            self._schedule_call(call)
        self._rescan.add(q.name)
        self._empty_dirty.add(q.name)

    def _on_agent_config(self, config: AgentConfig) -> None:
        a = self._agents.get(config.id)
        if a is None:
            self._agents[config.id] = _Agent(config, since=self._at)
            return
        a.config = config
        self._refresh(a)

    # --- callers in queues ----------------------------------------------------------------------

    def _enter(self, call: _Call, q: _Queue, chain: frozenset[str], entered: float,
               *, adopted: bool = False) -> None:
        """Put the call in q, or route it on if q refuses it. `chain`: queues tried just now.
        `adopted`: back after a restart, the same stay (admitted already; no new entry)."""
        call.home = q
        if not is_personal_queue(q.name):
            call.origin = q
        full = q.config.max_callers is not None and len(q.waiting) >= q.config.max_callers
        if full and not adopted:
            self._journal(
                JournalEvent.FULL, call, q, None, caller=call.caller, priority=call.priority
            )
            self._route_out(call, q, "full", chain)
            return
        if not adopted and self._is_empty(q, q.config.join_empty):
            self._journal(
                JournalEvent.JOINEMPTY, call, q, None, caller=call.caller, priority=call.priority
            )
            self._route_out(call, q, "empty", chain)
            return
        call.queue = q
        call.seq = next(self._seq)
        call.entered_at = entered
        call.held = False
        insort(q.waiting, call, key=_waiting_order)
        call.orig_position = q.waiting.index(call) + 1
        if adopted:
            self._journal(JournalEvent.ADOPTED, call, q, None, action="queue",
                          caller=call.caller, priority=call.priority,
                          position=call.orig_position, wait=_s(self._at - entered))
        else:
            self._journal(
                JournalEvent.ENTERQUEUE,
                call,
                q,
                None,
                caller=call.caller,
                priority=call.priority,
                position=call.orig_position,
            )
        self._emit(StartMoh(call.id, q.name, q.config.moh_class))
        self._schedule_call(call)
        self._new_calls[call.id] = call

    def _schedule_call(self, call: _Call) -> None:
        """(Re)compute a waiting call's deadlines from its queue's configuration."""
        q = call.queue
        assert q is not None
        waited = self._at - call.entered_at
        max_wait = call.max_wait if call.max_wait is not None else q.config.max_wait
        if call.callback is not None:
            max_wait = None  # nobody is on the line: a callback waits for its turn
        if max_wait is None:
            self._unschedule(_MAX_WAIT, call.id)
        else:
            self._schedule(_MAX_WAIT, call.id, call.entered_at + max_wait)
        steps = q.config.escalation
        call.step = sum(1 for step in steps if step.after <= waited)
        if call.step < len(steps):
            self._schedule(_ESCALATE, call.id, call.entered_at + steps[call.step].after)
        else:
            self._unschedule(_ESCALATE, call.id)
        every = q.config.announce_every
        if every is None or call.callback is not None:
            self._unschedule(_ANNOUNCE, call.id)
        else:
            self._schedule(_ANNOUNCE, call.id, call.entered_at + every * (waited // every + 1))

    def _unschedule_call(self, call: _Call) -> None:
        for kind in (_MAX_WAIT, _ESCALATE, _ANNOUNCE, _CALLBACK_REST):
            self._unschedule(kind, call.id)

    def _exit_waiting(
        self, call: _Call, event: JournalEvent, why: str, **data: JournalValue
    ) -> _Queue:
        """Take a waiting call out of its queue, with the exit's journal row."""
        q = call.queue
        assert q is not None
        for o in list(call.offers.values()):
            self._end_offer(o, why, missed=False, hang_up=True)
        position = q.waiting.index(call) + 1
        q.waiting.remove(call)
        call.queue = None
        self._unschedule_call(call)
        wait = _s(self._at - call.entered_at)
        if event is JournalEvent.TRANSFER:
            details: dict[str, JournalValue] = {"kind": "queue", "wait": wait, "talk": 0.0}
            details.update(data)
            details["orig_position"] = call.orig_position
        else:
            details = {"position": position, "orig_position": call.orig_position, "wait": wait}
            details.update(data)
        self._journal(event, call, q, None, **details)
        return q

    def _route_out(self, call: _Call, q: _Queue, why: str, chain: frozenset[str]) -> None:
        """The call cannot stay in q: into the overflow queue, else back to the runner."""
        target = q.config.overflow
        if target is not None and target.kind is OverflowKind.QUEUE:
            next_queue = self._queues.get(target.target)
            if next_queue is not None and next_queue.name not in chain:
                self._enter(call, next_queue, chain | {next_queue.name}, self._at)
                return
            target = None  # unknown, or a loop: the runner decides, as with no target
        self._forget(call)
        exit_action: Action
        if why == "timeout":
            exit_action = Overflow(call.id, q.name, target)
        elif why == "leave-empty":
            exit_action = LeaveEmpty(call.id, q.name, target)
        else:
            exit_action = RejectJoin(call.id, q.name, why, target)
        self._emit(exit_action)

    def _forget(self, call: _Call) -> None:
        self._unschedule_call(call)
        self._calls.pop(call.id, None)

    def _max_wait(self, call: _Call) -> None:
        q = self._exit_waiting(call, JournalEvent.EXITWITHTIMEOUT, "max wait")
        self._route_out(call, q, "timeout", frozenset({q.name}))

    def _escalate(self, call: _Call) -> None:
        q = call.queue
        assert q is not None
        # Counted, not recomputed from the wait: float sums could leave the step where it was
        # and fire the same deadline forever.
        steps = q.config.escalation
        call.step += 1
        if call.step < len(steps):
            self._schedule(_ESCALATE, call.id, call.entered_at + steps[call.step].after)
        self._new_calls[call.id] = call

    def _announce(self, call: _Call) -> None:
        q = call.queue
        assert q is not None and q.config.announce_every is not None
        if not call.offers:  # a ringing agent may answer mid-sentence: skip this one
            position = q.waiting.index(call) + 1
            self._emit(Announce(call.id, q.name, position, self._estimate(q, position),
                                q.config.callback_key))
        self._schedule(_ANNOUNCE, call.id, self._at + q.config.announce_every)

    def _estimate(self, q: _Queue, position: int) -> float | None:
        """Expected wait: recent handle time x position / agents who can take calls."""
        if not q.handle_times:
            return None
        average = sum(q.handle_times) / len(q.handle_times)
        serving = max(1, q.counts[_BUSY] + q.counts[_READY])
        return float(round(average * position / serving))

    def _leave_empty(self) -> None:
        names = sorted(self._empty_dirty)
        self._empty_dirty.clear()
        for name in names:
            q = self._queues[name]
            if not self._is_empty(q, q.config.leave_empty):
                continue
            for call in [c for c in q.waiting if not c.offers and c.callback is None]:
                self._exit_waiting(call, JournalEvent.EXITEMPTY, "queue empty")
                self._route_out(call, q, "leave-empty", frozenset({q.name}))

    @staticmethod
    def _is_empty(q: _Queue, policy: EmptyPolicy) -> bool:
        counts = q.counts
        if policy is EmptyPolicy.NO_MEMBERS:
            return not q.members
        if policy is EmptyPolicy.NO_REACHABLE:
            return counts[_BUSY] + counts[_READY] == 0
        if policy is EmptyPolicy.NO_AVAILABLE:
            return counts[_READY] == 0
        return False

    # --- offers ---------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Offer waiting calls to free agents, most urgent call first (heaviest queue, then
        priority, then longest wait), looking only where a new match can be.

        Between two dispatches no ready call is admitted by a free agent (Acd.audit checks it),
        so a match needs a call that became ready (or widened its requirement), an agent who
        became free, or a queue whose configuration changed. New calls are matched directly;
        for new agents, the queue's callers are walked in order, but only those a new agent
        admits are tried, and the walk stops once the new agents are taken. Offers never free
        an agent or reorder a waiting list, so the lazy walks stay valid while offering.
        """
        new_calls, self._new_calls = self._new_calls, {}
        new_free, self._new_free = self._new_free, {}
        rescan, self._rescan = self._rescan, set()
        fresh = [call for call in new_calls.values() if self._ready(call)]
        fresh.sort(key=self._urgency_key)
        streams: list[Iterator[tuple[tuple[int, int, float, int], _Call]]] = [
            iter([(self._urgency_key(call), call) for call in fresh])
        ]
        involved = {call.queue.name for call in fresh if call.queue is not None}
        for name in sorted(rescan | set(new_free)):
            q = self._queues[name]
            if not q.free:
                continue
            involved.add(name)
            new_agents = None if name in rescan else sorted(new_free[name])
            streams.append(self._walk(q, new_agents))
        queues = [self._queues[name] for name in sorted(involved)]
        for _, call in heapq.merge(*streams, key=lambda entry: entry[0]):
            if not any(q.free for q in queues):
                return
            home = call.queue
            if home is None or not home.free or not self._ready(call):
                continue
            chosen = self._select(call, home)
            if call.callback is not None:
                chosen = chosen[:1]  # one agent is reserved for a callback (see _ready)
            for agent_id in chosen:
                self._offer(call, self._agents[agent_id])

    def _walk(
        self, q: _Queue, new_agents: list[str] | None
    ) -> Iterator[tuple[tuple[int, int, float, int], _Call]]:
        """q's ready callers in order; with `new_agents`, only those one of them admits."""
        for call in q.waiting:
            if not q.free:
                return
            if not self._ready(call):
                continue
            if new_agents is not None:
                still_free = [self._agents[a] for a in new_agents if a in q.free]
                if not still_free:
                    return
                requirement = self._requirement(call, q)
                if not any(
                    requirement.admits(a.config.penalty(q.name), a.config.skills)
                    and self._reaches(a, call)
                    for a in still_free
                ):
                    continue
            yield self._urgency_key(call), call

    @staticmethod
    def _urgency_key(call: _Call) -> tuple[int, int, float, int]:
        q = call.queue
        weight = 0 if q is None else q.config.weight
        return (-weight, -call.priority, call.entered_at, call.seq)

    @staticmethod
    def _ready(call: _Call) -> bool:
        q = call.queue
        if q is None or call.agent is not None:
            return False
        if call.callback is not None:
            # One agent is reserved for a callback, whatever the strategy: ringall's second
            # answer would have nobody to talk to.
            return not call.callback.resting and not call.offers
        return not call.offers or q.config.strategy is Strategy.RINGALL

    @staticmethod
    def _requirement(call: _Call, q: _Queue) -> Requirement:
        if call.step == 0:
            relax, max_penalty = 0, q.config.max_penalty
        else:
            step = q.config.escalation[call.step - 1]
            relax, max_penalty = step.relax, step.max_penalty
        if call.offers:
            # Ringall rings the best tier free; worse tiers only once those offers have failed.
            ringing = min(o.agent.config.penalty(q.name) for o in call.offers.values())
            max_penalty = ringing if max_penalty is None else min(max_penalty, ringing)
        return Requirement(call.skills, relax, max_penalty)

    def _offer(self, call: _Call, a: _Agent) -> None:
        q = call.queue
        assert q is not None and a.offer is None
        o = _Offer(next(self._offer_ids), call, a, self._at)
        call.offers[a.id] = o
        a.offer = o
        self._offers[o.id] = o
        self._schedule(_OFFER, str(o.id), self._at + q.config.ring_timeout)
        self._journal(JournalEvent.OFFER, call, q, a, offer_id=o.id, timeout=q.config.ring_timeout)
        self._emit(
            Offer(
                o.id, call.id, a.id, a.config.endpoint, call.caller, q.name, q.config.ring_timeout,
                callback=None if call.callback is None else call.callback.number,
            )
        )
        self._refresh(a)

    def _drop_offer(self, o: _Offer) -> None:
        del self._offers[o.id]
        del o.call.offers[o.agent.id]
        o.agent.offer = None
        self._unschedule(_OFFER, str(o.id))

    def _end_offer(self, o: _Offer, reason: str, *, missed: bool, hang_up: bool) -> None:
        """An unanswered offer ends: missed (counts toward autopause) or cancelled by the core."""
        call, a = o.call, o.agent
        q = call.home  # the call may just have been connected (ringall's other offers)
        assert q is not None
        self._drop_offer(o)
        event = JournalEvent.RINGNOANSWER if missed else JournalEvent.RINGCANCELED
        self._journal(event, call, q, a, offer_id=o.id, ring_ms=_ms(self._at - o.at), reason=reason)
        if hang_up:
            self._emit(CancelOffer(o.id, call.id, a.id, reason))
        if missed:
            a.missed += 1
            if q.config.retry_delay > 0:
                a.retry_until = self._at + q.config.retry_delay
                self._schedule(_RETRY, a.id, a.retry_until)
            limit = q.config.autopause_after
            if limit is not None and a.missed >= limit and a.paused is None:
                self._pause(a, AUTOPAUSE_REASON, auto=True)
        self._refresh(a)
        # The caller keeps their place; they are free for the next agent (or leave if empty).
        self._new_calls[call.id] = call
        self._empty_dirty.add(q.name)

    # --- callbacks ------------------------------------------------------------------------------

    def _on_callback_requested(self, e: CallbackRequested) -> None:
        """The callback takes the caller's place: same arrival, same sequence, same position."""
        call = self._calls.get(e.call_id)
        if (call is None or call.queue is None or call.agent is not None
                or call.callback is not None or e.callback_id in self._calls):
            return  # served, gone or asked twice meanwhile: the caller's stay goes on as it was
        entered, seq, orig_position = call.entered_at, call.seq, call.orig_position
        q = self._exit_waiting(call, JournalEvent.CALLBACKREQ, "callback requested",
                               callback=e.callback_id, number=e.number)
        self._forget(call)
        self._emit(CallEnded(call.id, CallEnd.CALLBACK))
        callback = _Call(e.callback_id, e.number, call.priority, call.skills, None,
                         callback=_Callback(e.number, e.contact))
        callback.home = callback.queue = q
        callback.entered_at, callback.seq, callback.orig_position = entered, seq, orig_position
        callback.step = call.step
        self._calls[callback.id] = callback
        insort(q.waiting, callback, key=_waiting_order)
        self._schedule_call(callback)
        self._new_calls[callback.id] = callback

    def _on_callback_queued(self, e: CallbackQueued) -> None:
        if e.callback_id in self._calls:
            return  # already ours (a duplicate delivery)
        q = self._queues.get(e.queue)
        cb = _Callback(e.number, e.contact, attempts=e.attempts)
        call = _Call(e.callback_id, e.number, e.priority, {}, None, callback=cb)
        if q is None:
            self._journal(JournalEvent.CALLBACKFAIL, call, None, None, reason="unknown-queue",
                          attempt=e.attempts, final=True)
            self._emit(CallEnded(call.id, CallEnd.CALLBACK_FAILED))
            return
        call.home = call.queue = q
        call.seq = next(self._seq)
        call.entered_at = min(e.entered_at, self._at)
        self._calls[call.id] = call
        insort(q.waiting, call, key=_waiting_order)
        call.orig_position = q.waiting.index(call) + 1
        self._journal(JournalEvent.CALLBACKQUEUED, call, q, None, number=e.number,
                      attempts=e.attempts, position=call.orig_position, adopted=e.adopted,
                      entered_at=_s(call.entered_at))
        self._schedule_call(call)
        if e.not_before is not None and e.not_before > self._at:
            cb.resting = True
            self._schedule(_CALLBACK_REST, call.id, e.not_before)
        self._new_calls[call.id] = call

    def _on_callback_answered(self, callback_id: str) -> None:
        call = self._calls.get(callback_id)
        if call is None or call.callback is None or call.agent is None or call.callback.answered:
            return
        a, q, cb = call.agent, call.home, call.callback
        assert q is not None
        cb.answered = True
        call.connected_at = self._at
        a.calls_today += 1
        self._journal(JournalEvent.CALLBACKCONNECT, call, q, a, number=cb.number,
                      attempt=cb.attempts, wait=_s(self._at - call.entered_at))
        self._refresh(a)

    def _callback_not_answered(self, call: _Call, reason: str, *, count: bool,
                               final: bool = False) -> None:
        """The customer did not answer (or the agent left first): the agent is free again at
        once (no wrap-up: there was no talk), and the callback waits again in its place after
        the retry delay, or ends when its attempts are spent."""
        a, q, cb = call.agent, call.home, call.callback
        assert a is not None and q is not None and cb is not None
        if not count:
            cb.attempts -= 1
        call.agent = None
        a.calls.discard(call.id)
        if count:  # else the agent's leg is gone already
            self._emit(ReleaseAgentLeg(call.id, a.id))
        final = final or cb.attempts >= q.config.callback_attempts
        delay = 0.0 if not count else q.config.callback_retry_delay
        self._journal(JournalEvent.CALLBACKFAIL, call, q, a, reason=reason, attempt=cb.attempts,
                      final=final, retry_at=None if final else _s(self._at + delay))
        self._refresh(a)
        if final:
            self._forget(call)
            self._emit(CallEnded(call.id, CallEnd.CALLBACK_FAILED, a.id))
            return
        call.queue = q
        insort(q.waiting, call, key=_waiting_order)  # its own place: entered_at and seq kept
        self._schedule_call(call)
        if delay > 0:
            cb.resting = True
            self._schedule(_CALLBACK_REST, call.id, self._at + delay)
        self._new_calls[call.id] = call

    def _on_callback_cancelled(self, callback_id: str) -> None:
        call = self._calls.get(callback_id)
        if call is None or call.callback is None or call.queue is None:
            return  # dialling or talking already: too late to cancel
        q = call.queue
        for o in list(call.offers.values()):
            self._end_offer(o, "callback cancelled", missed=False, hang_up=True)
        q.waiting.remove(call)
        call.queue = None
        self._journal(JournalEvent.CALLBACKCANCEL, call, q, None,
                      wait=_s(self._at - call.entered_at))
        self._forget(call)
        self._emit(CallEnded(call.id, CallEnd.CALLBACK_CANCELLED))

    # --- connected calls ------------------------------------------------------------------------

    def _complete(self, call: _Call, event: JournalEvent) -> None:
        a, q = call.agent, call.home
        assert a is not None
        talk = self._at - call.connected_at
        if call.outbound or q is None or call.campaign is not None:
            self._journal(event, call, None, a, talk=_s(talk), outbound=True)
            if event is JournalEvent.COMPLETECALLER:
                self._emit(ReleaseAgentLeg(call.id, a.id))
            self._emit(CallEnded(call.id, CallEnd.COMPLETED, a.id))
            self._release(call, a, q, talk)
            self._forget(call)
            return
        self._journal(
            event,
            call,
            q,
            a,
            wait=_s(call.connected_at - call.entered_at),
            talk=_s(talk),
            orig_position=call.orig_position,
        )
        if event is JournalEvent.COMPLETECALLER:  # the agent's leg is still up
            self._emit(ReleaseAgentLeg(call.id, a.id))
        self._emit(CallEnded(call.id, CallEnd.COMPLETED, a.id))
        self._release(call, a, q, talk)
        self._forget(call)

    def _transfer_connected(self, call: _Call, target: str, kind: str) -> None:
        a, q = call.agent, call.home
        assert a is not None
        talk = self._at - call.connected_at
        if call.outbound or q is None or call.campaign is not None:
            self._journal(JournalEvent.TRANSFER, call, None, a, target=target, kind=kind,
                          talk=_s(talk), outbound=True)
            self._emit(ReleaseAgentLeg(call.id, a.id))
            self._release(call, a, q, talk)  # the part and its wrap-up: outbound work
            # A queue it moves to serves it as any caller of its own.
            call.outbound, call.campaign = False, None
            call.entered_at = self._at
            return
        self._journal(
            JournalEvent.TRANSFER,
            call,
            q,
            a,
            target=target,
            kind=kind,
            wait=_s(call.connected_at - call.entered_at),
            talk=_s(talk),
            orig_position=call.orig_position,
        )
        self._emit(ReleaseAgentLeg(call.id, a.id))
        self._release(call, a, q, talk)

    def _release(self, call: _Call, a: _Agent, q: _Queue | None, talk: float) -> None:
        """The agent is done talking on this call: wrap-up starts when their last call ends.
        An outbound call's (`outbound`, or no queue) wrap-up is counted in no queue, and its
        handle time tells no queue's estimated wait."""
        outbound = call.outbound or q is None or call.campaign is not None
        call.agent = None
        a.calls.discard(call.id)
        a.last_call_end = self._at
        # A part taken by a transfer to the agent (their personal queue, which has no settings)
        # wraps up as the queue the call came from.
        rules = call.origin if q is not None and is_personal_queue(q.name) and call.origin else q
        wrapup = (a.config.wrapup if a.config.wrapup is not None
                  else rules.config.wrapup if rules is not None else 0.0)
        if q is not None and not outbound:
            q.handle_times.append(talk + wrapup)
        if not a.calls and wrapup > 0:
            counted_in = None if outbound or q is None else q
            a.wrapup_started = self._at
            a.wrapup_of = (call.id, None if counted_in is None else counted_in.name)
            self._schedule(_WRAPUP, a.id, self._at + wrapup)
            self._journal(JournalEvent.WRAPUPSTART, call, counted_in, a, seconds=_s(wrapup),
                          **({"outbound": True} if outbound else {}))
            self._emit(WrapUpStarted(a.id, call.id, a.wrapup_of[1], self._at + wrapup))
        self._refresh(a)

    def _end_wrapup(self, a: _Agent, *, early: bool) -> None:
        assert a.wrapup_started is not None and a.wrapup_of is not None
        call_id, queue = a.wrapup_of
        data: dict[str, JournalValue] = {"seconds": _s(self._at - a.wrapup_started),
                                         "early": early}
        if queue is None:
            data["outbound"] = True
        self._emit(JournalRow(JournalEvent.WRAPUPEND, self._at, call_id, queue, a.id, data))
        a.wrapup_started = a.wrapup_of = None
        self._unschedule(_WRAPUP, a.id)
        self._refresh(a)

    # --- agents ---------------------------------------------------------------------------------

    def _pause(self, a: _Agent, reason: str, *, auto: bool) -> None:
        if a.paused == reason:
            return
        a.paused = reason
        self._agent_rows(a, JournalEvent.PAUSE, reason=reason, auto=auto)
        if a.offer is not None:
            self._end_offer(a.offer, "paused", missed=False, hang_up=True)
        self._refresh(a)

    def _unpause(self, a: _Agent) -> None:
        if a.paused is None:
            return
        self._agent_rows(a, JournalEvent.UNPAUSE, reason=a.paused)
        a.paused = None
        a.missed = 0
        self._refresh(a)

    def _set_registered(self, a: _Agent, registered: bool, unreachable_on: frozenset[str]) -> None:
        if (a.registered, a.unreachable_on) == (registered, unreachable_on):
            return
        regained = a.unreachable_on - unreachable_on  # callers there may have it now
        a.registered, a.unreachable_on = registered, unreachable_on
        if unreachable_on:
            self._split.add(a.id)
        else:
            self._split.discard(a.id)
        if a.offer is not None and not self._reaches(a, a.offer.call):
            self._end_offer(a.offer, "unregistered", missed=False, hang_up=True)
        self._refresh(a)
        if regained:
            for name in a.queues:
                if a.id in self._queues[name].free:
                    self._new_free.setdefault(name, set()).add(a.id)

    @staticmethod
    def _reaches(a: _Agent, call: _Call) -> bool:
        """The agent's phone can be rung from the caller's node (acd/reach.py)."""
        return a.registered and (call.node is None or call.node not in a.unreachable_on)

    def _select(self, call: _Call, q: _Queue) -> list[str]:
        """The free agents of q to offer the call to, leaving out those its node cannot reach
        (held out of the free set while the strategy picks, then put back as they were)."""
        node = call.node
        held = [] if node is None else [
            (agent_id, group, base)
            for agent_id in self._split
            if node in self._agents[agent_id].unreachable_on
            and (group := q.free.group(agent_id)) is not None
            and (base := q.free.base(agent_id)) is not None
        ]
        for agent_id, _, _ in held:
            q.free.discard(agent_id)
        try:
            return q.free.select(self._requirement(call, q), self._rng)
        finally:
            for agent_id, group, base in held:
                q.free.put(agent_id, group, base)

    def _derive(self, a: _Agent) -> tuple[AgentState, str]:
        if a.calls:
            return AgentState.ON_CALL, ""
        if a.offer is not None:
            return AgentState.RINGING, ""
        if a.wrapup_started is not None:
            return AgentState.WRAP_UP, ""
        if not a.queues:
            return AgentState.OFFLINE, "logged out"
        if not a.registered:
            return AgentState.OFFLINE, "unregistered"
        if a.paused is not None:
            return AgentState.PAUSED, a.paused
        return AgentState.AVAILABLE, ""

    @staticmethod
    def _level(a: _Agent, state: AgentState) -> int:
        if not a.registered or a.paused is not None:
            return _UNREACHABLE
        return _READY if state in (AgentState.AVAILABLE, AgentState.RINGING) else _BUSY

    @staticmethod
    def _eligible(a: _Agent, q: _Queue) -> bool:
        """Free to be offered a call of q now."""
        return (
            q.name in a.queues
            and a.registered
            and a.paused is None
            and a.offer is None
            and a.wrapup_started is None
            and a.retry_until is None
            and (not a.calls or q.config.ring_in_use)
        )

    @staticmethod
    def _base_key(a: _Agent, q: _Queue) -> SortKey:
        strategy = q.config.strategy
        idle_since = a.last_call_end if a.last_call_end is not None else a.logged_in_at
        if strategy is Strategy.LONGEST_IDLE:
            return (idle_since, a.id)
        if strategy is Strategy.FEWEST_CALLS:
            return (a.calls_today, idle_since, a.id)
        if strategy in (Strategy.LINEAR, Strategy.ROUND_ROBIN):
            return (q.order.get(a.id, len(q.order)), a.id)
        return (a.id,)

    def _refresh(self, a: _Agent) -> None:
        """After any change to an agent: publish their state, recount, re-index them."""
        state, reason = self._derive(a)
        if (state, reason) != (a.state, a.reason):
            a.state, a.reason, a.since = state, reason, self._at
            self._emit(AgentStateChanged(a.id, state, reason, self._at))
        level = self._level(a, state)
        if level != a.level:
            for name in a.queues:
                counts = self._queues[name].counts
                counts[a.level] -= 1
                counts[level] += 1
                if level < a.level:
                    self._empty_dirty.add(name)
            a.level = level
        for name in a.queues:
            q = self._queues[name]
            if self._eligible(a, q):
                group = group_key(a.config.penalty(name), a.config.skills)
                if q.free.put(a.id, group, self._base_key(a, q)):
                    self._new_free.setdefault(name, set()).add(a.id)
            else:
                q.free.discard(a.id)

    def _agent_rows(self, a: _Agent, event: JournalEvent, **data: JournalValue) -> None:
        """An agent-wide row, written once per queue they are in (as app_queue does)."""
        if not a.queues:
            self._journal(event, None, None, a, **data)
        for name in sorted(a.queues):
            self._journal(event, None, self._queues[name], a, **data)

    # --- plumbing -------------------------------------------------------------------------------

    def _add_queue(self, config: QueueConfig) -> None:
        q = _Queue(config, FreeAgents(config.strategy))
        q.order = {agent_id: i for i, agent_id in enumerate(config.agent_order)}
        self._queues[config.name] = q

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _journal(
        self,
        event: JournalEvent,
        call: _Call | None,
        q: _Queue | None,
        a: _Agent | None,
        **data: JournalValue,
    ) -> None:
        if call is not None and call.campaign is not None:
            data["campaign"] = call.campaign
        self._emit(
            JournalRow(
                event,
                self._at,
                None if call is None else call.id,
                None if q is None else q.name,
                None if a is None else a.id,
                data,
            )
        )

    def _audit(self) -> Iterator[str]:
        for a in self._agents.values():
            if (a.state, a.reason) != self._derive(a):
                yield f"agent {a.id}: published {a.state} but is {self._derive(a)}"
            if a.level != self._level(a, a.state):
                yield f"agent {a.id}: presence level {a.level} is stale"
            if a.offer is not None and (
                self._offers.get(a.offer.id) is not a.offer
                or a.offer.call.offers.get(a.id) is not a.offer
            ):
                yield f"agent {a.id}: dangling offer {a.offer.id}"
            for call_id in a.calls:
                call = self._calls.get(call_id)
                if call is None or call.agent is not a:
                    yield f"agent {a.id}: on call {call_id} that is not connected to them"
            if a.calls and a.wrapup_started is not None:
                yield f"agent {a.id}: in wrap-up during a call"
            for name, q in self._queues.items():
                member = name in a.queues
                if member != (a.id in q.members):
                    yield f"agent {a.id}: membership of {name} disagrees"
                free = a.id in q.free
                if free != (member and self._eligible(a, q)):
                    yield f"agent {a.id}: free in {name} is {free}"
                if free and q.free.base(a.id) != self._base_key(a, q):
                    yield f"agent {a.id}: stale key in {name}"
                if free and q.free.group(a.id) != group_key(
                    a.config.penalty(name), a.config.skills
                ):
                    yield f"agent {a.id}: stale group in {name}"
        for q in self._queues.values():
            counts = [0, 0, 0, 0]
            for agent_id in q.members:
                counts[self._agents[agent_id].level] += 1
            if counts != q.counts:
                yield f"queue {q.name}: counts {q.counts} != {counts}"
            if q.waiting != sorted(q.waiting, key=_waiting_order):
                yield f"queue {q.name}: callers out of order"
            free_agents = [self._agents[agent_id] for agent_id in q.free.agents()]
            for call in q.waiting:
                if self._ready(call):
                    requirement = self._requirement(call, q)
                    for a in free_agents:
                        if requirement.admits(a.config.penalty(q.name), a.config.skills) and (
                            self._reaches(a, call)
                        ):
                            yield f"queue {q.name}: {call.id} waits while {a.id} is free for it"
                if (
                    call.queue is not q
                    or call.agent is not None
                    or self._calls.get(call.id) is not call
                ):
                    yield f"queue {q.name}: call {call.id} misplaced"
        for call in self._calls.values():
            if call.agent is not None and (call.queue is not None or call.offers):
                yield f"call {call.id}: connected yet waiting or offered"
            if call.agent is None and (call.queue is None or call not in call.queue.waiting):
                yield f"call {call.id}: neither waiting nor connected"
            if call.agent is not None and call.id not in call.agent.calls:
                yield f"call {call.id}: its agent does not know it"
            for agent_id, o in call.offers.items():
                if (
                    o.agent.id != agent_id
                    or o.agent.offer is not o
                    or self._offers.get(o.id) is not o
                ):
                    yield f"call {call.id}: dangling offer to {agent_id}"
        for o in self._offers.values():
            if self._timer_tokens.get((_OFFER, str(o.id))) is None:
                yield f"offer {o.id}: no timeout scheduled"
        for a in self._agents.values():
            if a.wrapup_started is not None and (_WRAPUP, a.id) not in self._timer_tokens:
                yield f"agent {a.id}: wrap-up with no end scheduled"
            if a.retry_until is not None and (_RETRY, a.id) not in self._timer_tokens:
                yield f"agent {a.id}: retry delay with no end scheduled"
