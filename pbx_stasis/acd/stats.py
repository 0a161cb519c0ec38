"""The live read model for wallboards: who waits, who is logged in and in which state, and
today's figures of every queue and agent.

`Stats.apply` takes the core's actions (other actions are ignored), in the order the core
emitted them. The figures are acd/figures.py's fold, row by row, with "today" a bucket of its
calendar (UTC days by default): the reports fold the same rows with the same definitions, so
a day's report agrees with what the wallboard showed at its end. Personal queues (transfers to
a named agent) are no queue here either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pbx_stasis.acd.actions import Action, AgentStateChanged, JournalEvent, JournalRow
from pbx_stasis.acd.figures import UTC_DAYS, Calendar, Figures, QueueRules, QueueTally
from pbx_stasis.acd.model import AgentState, QueueConfig, is_personal_queue

# Rows that end a wait without an agent (with no agent on the row).
_LEFT = frozenset(
    {
        JournalEvent.ABANDON,
        JournalEvent.EXITWITHTIMEOUT,
        JournalEvent.EXITEMPTY,
        JournalEvent.TRANSFER,
    }
)


@dataclass(frozen=True)
class QueueSnapshot:
    queue: str
    waiting: int
    longest_wait: float  # seconds the oldest waiting caller has waited; 0 with nobody waiting
    agents: Mapping[AgentState, int]  # logged-in agents by state (every state present)
    answered: int  # today
    abandoned: int  # today: hung up while waiting
    left: int  # today: timed out, queue empty, transferred out while waiting
    answered_within: int  # today: answered within the threshold
    service_level: float | None  # today, by the queue's formula (acd/figures.py)
    average_wait: float | None  # today, of answered callers (ASA)
    offered: int = 0  # today: stays begun (ENTERQUEUE)
    handled: int = 0  # today: agents' parts ended
    handle: float = 0.0  # today: talk (hold included) + wrap-up, seconds
    figures: QueueTally = field(default_factory=QueueTally)  # every figure of today
    callbacks: int = 0  # callbacks waiting for an agent (waiting work; none of `waiting`)


@dataclass(frozen=True)
class AgentSnapshot:
    agent_id: str
    state: AgentState
    reason: str
    since: float
    queues: frozenset[str]
    calls_today: int
    occupancy_today: float | None = None  # acd/figures.py


@dataclass(frozen=True)
class Touched:
    """What an applied action changed: publish these snapshots."""

    queues: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()


_UNTOUCHED = Touched()  # most of the core's actions (frozen: one serves them all)


@dataclass
class _QueueLive:
    waiting: dict[str, float] = field(default_factory=dict)  # call -> entered at
    callbacks: set[str] = field(default_factory=set)  # callbacks waiting for an agent
    members: set[str] = field(default_factory=set)


@dataclass
class _AgentLive:
    state: AgentState = AgentState.OFFLINE
    reason: str = "logged out"
    since: float = 0.0
    queues: set[str] = field(default_factory=set)


class Stats:
    """Per queue and per agent, updated action by action. No IO, no clock."""

    def __init__(
        self,
        rules: Mapping[str, QueueRules] | None = None,
        *,
        calendar: Calendar = UTC_DAYS,
    ) -> None:
        self.calendar = calendar
        self.figures = Figures(rules, calendar=calendar, keep=1)
        self._queues: dict[str, _QueueLive] = {}
        self._agents: dict[str, _AgentLive] = {}

    @classmethod
    def for_queues(cls, queues: Iterable[QueueConfig], *, calendar: Calendar = UTC_DAYS
                   ) -> Stats:
        """Each queue's figures by its own settings (service level threshold and formula)."""
        return cls({queue.name: QueueRules.of(queue) for queue in queues}, calendar=calendar)

    def set_rules(self, queue: str, rules: QueueRules) -> None:
        self.figures.rules[queue] = rules

    def apply(self, action: Action) -> Touched:
        if isinstance(action, AgentStateChanged):
            a = self._agent(action.agent_id)
            a.state, a.reason, a.since = action.state, action.reason, action.since
            return Touched(frozenset(a.queues), frozenset({action.agent_id}))
        if isinstance(action, JournalRow):
            return self._row(action)
        return _UNTOUCHED

    def apply_all(self, actions: Iterable[Action]) -> Touched:
        queues: set[str] = set()
        agents: set[str] = set()
        for action in actions:
            touched = self.apply(action)
            queues |= touched.queues
            agents |= touched.agents
        return Touched(frozenset(queues), frozenset(agents))

    def queue(self, name: str, now: float) -> QueueSnapshot:
        q = self._queues.get(name) or _QueueLive()
        by_state = dict.fromkeys(AgentState, 0)
        for agent_id in q.members:
            by_state[self._agents[agent_id].state] += 1
        oldest = min(q.waiting.values(), default=None)  # adopted callers join with old times
        today = self.figures.queue(name, self.calendar.bucket(now))
        mode = self.figures.rules_of(name).mode
        return QueueSnapshot(
            queue=name,
            waiting=len(q.waiting),
            longest_wait=0.0 if oldest is None else max(0.0, now - oldest),
            agents=by_state,
            answered=today.answered,
            abandoned=today.abandoned,
            left=today.unanswered - today.abandoned,
            answered_within=today.answered_within,
            service_level=today.service_level(mode),
            average_wait=today.average_answer_wait,
            offered=today.offered,
            handled=today.handled,
            handle=today.handle,
            figures=today,
            callbacks=len(q.callbacks),
        )

    def queue_names(self) -> list[str]:
        return sorted(self._queues)

    def agent(self, agent_id: str, now: float | None = None) -> AgentSnapshot | None:
        a = self._agents.get(agent_id)
        if a is None:
            return None
        # Without `now`: "today" as far as the rows go.
        day = self.calendar.bucket(now) if now is not None else self.figures.latest
        today = self.figures.agent(agent_id, day, now) if day is not None else None
        return AgentSnapshot(
            agent_id=agent_id,
            state=a.state,
            reason=a.reason,
            since=a.since,
            queues=frozenset(a.queues),
            calls_today=today.answered if today is not None else 0,
            occupancy_today=today.occupancy if today is not None else None,
        )

    def agent_ids(self) -> list[str]:
        return sorted(self._agents)

    # --- the fold -------------------------------------------------------------------------------

    def fold(self, event: str, at: float, call_id: str | None, queue: str | None,
             agent: str | None, data: Mapping[str, Any]) -> None:
        """A stored journal line into today's figures (a start rebuilding them): the figures
        only, the live state (waiting callers, agents' states) comes from the ACD."""
        self.figures.add(event, at, call_id, queue, agent, data)

    def _row(self, row: JournalRow) -> Touched:
        self.figures.add(row.event, row.at, row.call_id, row.queue, row.agent_id, row.data)
        agents = frozenset() if row.agent_id is None else frozenset({row.agent_id})
        if row.queue is None or is_personal_queue(row.queue):
            return Touched(agents=agents)
        q = self._queue(row.queue)
        event = row.event
        if event is JournalEvent.ENTERQUEUE and row.call_id is not None:
            q.waiting[row.call_id] = row.at
        elif (event is JournalEvent.ADOPTED and row.call_id is not None
              and row.data.get("action") == "queue"):
            # Put back after a restart: waiting since their first entry.
            wait = row.data.get("wait")
            q.waiting[row.call_id] = row.at - (wait if isinstance(wait, int | float) else 0.0)
        elif event is JournalEvent.CONNECT and row.call_id is not None:
            q.waiting.pop(row.call_id, None)
        elif event is JournalEvent.CALLBACKREQ and row.call_id is not None:
            q.waiting.pop(row.call_id, None)
            q.callbacks.add(str(row.data.get("callback")))
        elif event is JournalEvent.CALLBACKQUEUED and row.call_id is not None:
            q.callbacks.add(row.call_id)
        elif event is JournalEvent.CALLBACKFAIL and row.call_id is not None:
            if not row.data.get("final"):
                q.callbacks.add(row.call_id)  # back in its place until the next attempt
        elif (event in (JournalEvent.CALLBACKDIAL, JournalEvent.CALLBACKCANCEL)
              and row.call_id is not None):
            q.callbacks.discard(row.call_id)
        elif event in _LEFT and row.call_id is not None and row.agent_id is None:
            # A TRANSFER with an agent ends a talk, not a wait.
            q.waiting.pop(row.call_id, None)
        elif event is JournalEvent.LOGIN and row.agent_id is not None:
            q.members.add(row.agent_id)
            self._agent(row.agent_id).queues.add(row.queue)
        elif event is JournalEvent.LOGOUT and row.agent_id is not None:
            q.members.discard(row.agent_id)
            self._agent(row.agent_id).queues.discard(row.queue)
        return Touched(frozenset({row.queue}), agents)

    def _queue(self, name: str) -> _QueueLive:
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = _QueueLive()
        return q

    def _agent(self, agent_id: str) -> _AgentLive:
        a = self._agents.get(agent_id)
        if a is None:
            a = self._agents[agent_id] = _AgentLive()
        return a
