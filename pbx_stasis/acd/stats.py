"""The live read model for wallboards: a fold over the ACD's journal rows and agent states.

`Stats.apply` takes the core's actions (other actions are ignored), in the order the core
emitted them, so the same fold runs live and when rebuilding from the journal.

Service level, per queue and per day: the share of callers answered within the queue's
threshold T among the callers whose wait is over, not counting those who left (hung up, timed
out, queue empty, moved elsewhere) before T:

    service_level = answered within T / (answered + left after waiting more than T)

so a caller who hangs up after 3 s does not count against the agents (the usual "short
abandon" rule), and a caller who waited 2 minutes before leaving does. None until a caller counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pbx_stasis.acd.actions import Action, AgentStateChanged, Journal, JournalEvent
from pbx_stasis.acd.model import AgentState, QueueConfig, utc_day

DEFAULT_THRESHOLD = 20.0

# Rows that end a wait without an answer.
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
    service_level: float | None  # see the module docstring
    average_wait: float | None  # today, of answered callers


@dataclass(frozen=True)
class AgentSnapshot:
    agent_id: str
    state: AgentState
    reason: str
    since: float
    queues: frozenset[str]
    calls_today: int


@dataclass(frozen=True)
class Touched:
    """What an applied action changed: publish these snapshots."""

    queues: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()


@dataclass
class _QueueDay:
    waiting: dict[str, float] = field(default_factory=dict)  # call -> entered at, oldest first
    members: set[str] = field(default_factory=set)
    answered: int = 0
    abandoned: int = 0
    left: int = 0
    answered_within: int = 0
    left_late: int = 0  # left (any way) after the threshold
    total_wait: float = 0.0


@dataclass
class _AgentDay:
    state: AgentState = AgentState.OFFLINE
    reason: str = "logged out"
    since: float = 0.0
    queues: set[str] = field(default_factory=set)
    calls_today: int = 0


class Stats:
    """Per queue and per agent figures, updated action by action. No IO, no clock."""

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        default_threshold: float = DEFAULT_THRESHOLD,
        day_of: Callable[[float], int] = utc_day,
    ) -> None:
        self._thresholds = dict(thresholds or {})
        self._default = default_threshold
        self._day_of = day_of
        self._day: int | None = None
        self._queues: dict[str, _QueueDay] = {}
        self._agents: dict[str, _AgentDay] = {}

    @classmethod
    def for_queues(
        cls, queues: Iterable[QueueConfig], *, day_of: Callable[[float], int] = utc_day
    ) -> Stats:
        """Thresholds from the queues' `service_level`."""
        return cls({queue.name: queue.service_level for queue in queues}, day_of=day_of)

    def set_threshold(self, queue: str, seconds: float) -> None:
        self._thresholds[queue] = seconds

    def apply(self, action: Action) -> Touched:
        if isinstance(action, AgentStateChanged):
            a = self._agent(action.agent_id)
            a.state, a.reason, a.since = action.state, action.reason, action.since
            return Touched(frozenset(a.queues), frozenset({action.agent_id}))
        if isinstance(action, Journal):
            return self._row(action)
        return Touched()

    def apply_all(self, actions: Iterable[Action]) -> Touched:
        queues: set[str] = set()
        agents: set[str] = set()
        for action in actions:
            touched = self.apply(action)
            queues |= touched.queues
            agents |= touched.agents
        return Touched(frozenset(queues), frozenset(agents))

    def queue(self, name: str, now: float) -> QueueSnapshot:
        q = self._queues.get(name) or _QueueDay()
        today = self._day is not None and self._day_of(now) == self._day
        by_state = dict.fromkeys(AgentState, 0)
        for agent_id in q.members:
            by_state[self._agents[agent_id].state] += 1
        oldest = next(iter(q.waiting.values()), None)
        if not today:
            q = _QueueDay(waiting=q.waiting, members=q.members)
        counted = q.answered + q.left_late
        return QueueSnapshot(
            queue=name,
            waiting=len(q.waiting),
            longest_wait=0.0 if oldest is None else max(0.0, now - oldest),
            agents=by_state,
            answered=q.answered,
            abandoned=q.abandoned,
            left=q.left,
            answered_within=q.answered_within,
            service_level=q.answered_within / counted if counted else None,
            average_wait=q.total_wait / q.answered if q.answered else None,
        )

    def queue_names(self) -> list[str]:
        return sorted(self._queues)

    def agent(self, agent_id: str, now: float | None = None) -> AgentSnapshot | None:
        a = self._agents.get(agent_id)
        if a is None:
            return None
        stale = now is not None and self._day is not None and self._day_of(now) != self._day
        return AgentSnapshot(
            agent_id=agent_id,
            state=a.state,
            reason=a.reason,
            since=a.since,
            queues=frozenset(a.queues),
            calls_today=0 if stale else a.calls_today,
        )

    def agent_ids(self) -> list[str]:
        return sorted(self._agents)

    # --- the fold -------------------------------------------------------------------------------

    def _row(self, row: Journal) -> Touched:
        self._roll_day(row.at)
        agents = frozenset() if row.agent_id is None else frozenset({row.agent_id})
        if row.queue is None:
            return Touched(agents=agents)
        q = self._queue(row.queue)
        threshold = self._thresholds.get(row.queue, self._default)
        event, data = row.event, row.data
        if event is JournalEvent.ENTERQUEUE and row.call_id is not None:
            q.waiting[row.call_id] = row.at
        elif event is JournalEvent.CONNECT and row.call_id is not None:
            q.waiting.pop(row.call_id, None)
            wait = _seconds(data.get("wait"))
            q.answered += 1
            q.total_wait += wait
            q.answered_within += wait <= threshold
            if row.agent_id is not None:
                self._agent(row.agent_id).calls_today += 1
        elif event in _LEFT and row.call_id is not None and row.agent_id is None:
            # A TRANSFER with an agent ends a talk, not a wait: only waits are counted here.
            q.waiting.pop(row.call_id, None)
            q.abandoned += event is JournalEvent.ABANDON
            q.left += event is not JournalEvent.ABANDON
            q.left_late += _seconds(data.get("wait")) > threshold
        elif event is JournalEvent.LOGIN and row.agent_id is not None:
            q.members.add(row.agent_id)
            self._agent(row.agent_id).queues.add(row.queue)
        elif event is JournalEvent.LOGOUT and row.agent_id is not None:
            q.members.discard(row.agent_id)
            self._agent(row.agent_id).queues.discard(row.queue)
        return Touched(frozenset({row.queue}), agents)

    def _roll_day(self, at: float) -> None:
        day = self._day_of(at)
        if day == self._day:
            return
        self._day = day
        for q in self._queues.values():
            q.answered = q.abandoned = q.left = q.answered_within = q.left_late = 0
            q.total_wait = 0.0
        for a in self._agents.values():
            a.calls_today = 0

    def _queue(self, name: str) -> _QueueDay:
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = _QueueDay()
        return q

    def _agent(self, agent_id: str) -> _AgentDay:
        a = self._agents.get(agent_id)
        if a is None:
            a = self._agents[agent_id] = _AgentDay()
        return a


def _seconds(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
