"""Every figure of a queue and an agent, defined once: a pure fold over the ACD's journal rows.

The live wallboard (acd/stats.py, row by row as the core writes them), the reports and their
CSV files (reports/core.py, a period streamed in batches) all fold with `Figures`; no IO, no
clock: time comes in the rows (and in `now` when a figure is read). docs/figures.md explains
each definition; in short (T: the queue's `service_level` seconds, S: its `short_abandon`,
T when unset):

| figure | definition (journal rows) |
|---|---|
| offered | stays in the queue: ENTERQUEUE (a call moved to another queue is offered there) |
| answered | CONNECT; `answered within` its wait <= T |
| unanswered | waits ended without an agent: ABANDON, EXITWITHTIMEOUT, EXITEMPTY, TRANSFER, AWAY |
| abandoned | the caller hung up while waiting (ABANDON); short abandon: wait <= S |
| timed out / left empty / transferred | EXITWITHTIMEOUT / EXITEMPTY / TRANSFER while waiting |
| away | offered and unanswered: the dialplan held the call while the app was away and let it |
|  | go (refused at the end of the hold, or the caller hung up): AWAY, its wait the hold |
| short | an unanswered wait <= S (any way it ended) |
| SL `answered` (app_queue SL) | answered within T / answered |
| SL `answered-and-abandoned` (SL2) | (answered + unanswered, within T) / (answered + unanswered) |
| SL `without-short-abandons` (default) | answered within T / (answered + unanswered - short) |
| ASA | answer wait of answered callers / answered |
| handled | agents' parts: CONNECT to COMPLETECALLER, COMPLETEAGENT or the agent's TRANSFER, |
|  | counted when over: at the talk's end, or at WRAPUPEND when a wrap-up follows |
| talk | the part's length (its row's `talk`: hold included, so talk + hold) |
| wrap-up | WRAPUPEND's `seconds` (its actual length, ended early or not) |
| AHT | (talk + hold + wrap-up) / handled |
| occupancy | busy / (busy + available): busy, a call connected or in wrap-up; available, |
|  | logged into a queue, neither paused nor busy |
| callbacks | callbacks that joined the queue: CALLBACKREQ (a waiting caller's stay ends |
|  | with one: no abandon, no unanswered wait) and CALLBACKQUEUED (scheduled, API) |
| callbacks connected / failed | CALLBACKCONNECT / CALLBACKFAIL `final` (attempts spent) |
| outbound placed | an agent's own outside calls dialled (OUTDIAL) |
| outbound connected | those the number answered (OUTCONNECT) |
| outbound talk / wrap-up | OUTCONNECT to its end (the end row's `talk`, `outbound` true), and the |
|  | wrap-up after it: the agent's outbound work, in no queue and not in handled, talk or AHT |
| campaign calls | rows with `campaign` (a campaign's customer handed to its queue): in no |
|  | queue's figure; its CONNECT is the agent's outbound connected, its talk and wrap-up outbound |

Beside the journal, `CallScores` (not folded from journal rows: from the calls' stored quality
and evaluations, counted by the call's start):

| figure | definition |
|---|---|
| call MES | the lower of the call's two legs' average MES (quality/: Asterisk's RTCP) |
| average MES | call MES / calls measured (a talk shorter than the first RTCP report has none) |
| poor quality share | calls measured whose MES is under the poor bar (POOR_MES) / calls measured |
| average evaluation | evaluations' scores (percent; a failed one is 0) / evaluations of the calls |

A figure counts in the bucket (hour, day: see `Calendar`) of the row that makes it: offered at
ENTERQUEUE, answered at CONNECT, talk at the part's end. A restart of the app is no event of
the figures: a stay or a talk it carries over is journaled ADOPTED (never a second ENTERQUEUE
or CONNECT), the talk ends with its COMPLETE* row counted from the first CONNECT, and the
logins and pauses it restores are not journaled again. A personal queue (a blind transfer to
a named agent, acd/model.py) is no queue: a call transferred to an agent is not offered again,
and the receiving agent's part counts in that agent's figures only.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Protocol

from pbx_stasis.acd.actions import JournalEvent
from pbx_stasis.acd.model import QueueConfig, ServiceLevelMode, is_personal_queue

DEFAULT_THRESHOLD = 20.0
DAY = 86400.0
HOUR = 3600.0

E = JournalEvent
# How a wait ends without an agent -> the QueueTally counter it adds to.
_UNANSWERED: dict[str, str] = {
    E.ABANDON: "abandoned",
    E.EXITWITHTIMEOUT: "timed_out",
    E.EXITEMPTY: "left_empty",
    E.TRANSFER: "transferred",  # only without an agent: a move while waiting
    E.AWAY: "away",  # offered and let go by the dialplan while the app was away
}
_TALK_ENDS = frozenset({E.COMPLETECALLER, E.COMPLETEAGENT})
# The journal rows the fold reads; a store may skip every other one (IVR steps, holds...).
EVENTS = frozenset({
    E.ENTERQUEUE, E.OFFER, E.RINGNOANSWER, E.CONNECT, E.COMPLETECALLER, E.COMPLETEAGENT,
    E.ABANDON, E.EXITWITHTIMEOUT, E.EXITEMPTY, E.TRANSFER, E.WRAPUPSTART, E.WRAPUPEND,
    E.PAUSE, E.UNPAUSE, E.LOGIN, E.LOGOUT, E.ADOPTED, E.AWAY, E.OUTDIAL, E.OUTCONNECT,
    E.CALLBACKREQ, E.CALLBACKQUEUED, E.CALLBACKDIAL, E.CALLBACKCONNECT, E.CALLBACKFAIL,
})
# What an agent was doing when a period began (time figures run from it): the last row before
# the period of each group below says it. Calls and wrap-ups are looked for in the day before
# only (a call is not a day long); reports/store.py reads the same groups in SQL.
LOGIN_ROWS = frozenset({E.LOGIN, E.LOGOUT})  # per agent and queue
PAUSE_ROWS = frozenset({E.PAUSE, E.UNPAUSE})  # per agent
WRAPUP_ROWS = frozenset({E.WRAPUPSTART, E.WRAPUPEND})  # per agent
# ADOPTED (a talk carried over a restart) tells a fold that began after its CONNECT (the
# wallboard of the restarted app) that the agent is on that call.
# An agent dialling a callback is busy from CALLBACKDIAL (to its talk's end, or CALLBACKFAIL).
TALK_ROWS = frozenset({E.CONNECT, E.COMPLETECALLER, E.COMPLETEAGENT, E.TRANSFER, E.ADOPTED,
                       E.CALLBACKDIAL, E.CALLBACKFAIL, E.OUTCONNECT})
STATE_EVENTS = LOGIN_ROWS | PAUSE_ROWS
STATE_LOOKBACK = DAY


def state_group(
    event: str, at: float, start: float, queue: str | None, agent: Hashable | None,
    call_id: str | None,
) -> Hashable | None:
    """For a row before a period starting at `start`: the group whose last row tells what its
    agent was doing at `start` (None: the row tells nothing of it)."""
    if agent is None:
        return None
    if event in LOGIN_ROWS:
        return ("login", agent, queue)
    if event in PAUSE_ROWS:
        return ("pause", agent)
    if at < start - STATE_LOOKBACK:
        return None
    if event in WRAPUP_ROWS:
        return ("wrapup", agent)
    if event in TALK_ROWS and call_id is not None:
        return ("talk", agent, call_id)
    return None

# The rows that make a queue part of the figures (an agent logging in alone does not).
_QUEUE_ROWS = EVENTS - STATE_EVENTS - {E.WRAPUPSTART}


class JournalLine(Protocol):
    """A journal line as the figures read it: a row of reports/store.py's query, a
    store.journal.JournalEntry."""

    @property
    def at(self) -> datetime: ...
    @property
    def event(self) -> str: ...
    @property
    def call_id(self) -> str | None: ...
    @property
    def queue(self) -> str | None: ...
    @property
    def agent_user_id(self) -> int | None: ...
    @property
    def data(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class QueueRules:
    """What a queue's figures depend on: its service level threshold T, the short-abandon
    threshold S (None: T) and which service level formula it shows."""

    threshold: float = DEFAULT_THRESHOLD
    short_abandon: float | None = None
    mode: ServiceLevelMode = ServiceLevelMode.WITHOUT_SHORT_ABANDONS

    @property
    def short(self) -> float:
        return self.threshold if self.short_abandon is None else self.short_abandon

    @classmethod
    def of(cls, config: QueueConfig) -> QueueRules:
        return cls(config.service_level, config.short_abandon, config.service_level_mode)


@dataclass(frozen=True)
class Calendar:
    """Cuts time into buckets of `seconds` (a day by default), starting `offset` seconds after
    UTC midnight: offset -3600 is a site at UTC+1 (no daylight saving)."""

    seconds: float = DAY
    offset: float = 0.0

    def bucket(self, at: float) -> int:
        return math.floor((at - self.offset) / self.seconds)

    def start(self, bucket: int) -> float:
        return bucket * self.seconds + self.offset


UTC_DAYS = Calendar()  # "today" by default: midnight UTC


@dataclass(slots=True)
class QueueTally:
    """A queue's counters over some time (one bucket, or several merged)."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0  # wait <= T
    unanswered: int = 0  # abandoned + timed_out + left_empty + transferred + away
    unanswered_within: int = 0  # wait <= T
    short: int = 0  # unanswered, wait <= S
    abandoned: int = 0
    short_abandoned: int = 0
    timed_out: int = 0
    left_empty: int = 0
    transferred: int = 0
    away: int = 0  # held by the dialplan while the app was away, let go without it
    answer_wait: float = 0.0
    abandon_wait: float = 0.0
    longest_wait: float = 0.0  # of any caller whose wait ended
    handled: int = 0
    talk: float = 0.0
    wrapup: float = 0.0
    callbacks: int = 0  # joined the queue (a caller's request, scheduled, API): no abandons
    callbacks_connected: int = 0  # the customer answered
    callbacks_failed: int = 0  # attempts spent (or the number refused)

    def merge(self, other: QueueTally) -> QueueTally:
        for name in _SUMMED_QUEUE_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.longest_wait = max(self.longest_wait, other.longest_wait)
        return self

    def service_level(self, mode: ServiceLevelMode) -> float | None:
        """The share in service level, by `mode`; None until a caller counts."""
        if mode is ServiceLevelMode.ANSWERED:
            return _ratio(self.answered_within, self.answered)
        if mode is ServiceLevelMode.ANSWERED_AND_ABANDONED:
            return _ratio(self.answered_within + self.unanswered_within,
                          self.answered + self.unanswered)
        return _ratio(self.answered_within, self.answered + self.unanswered - self.short)

    @property
    def handle(self) -> float:
        """Talk (hold included) plus wrap-up."""
        return self.talk + self.wrapup

    @property
    def average_answer_wait(self) -> float | None:  # ASA
        return _mean(self.answer_wait, self.answered)

    @property
    def average_abandon_wait(self) -> float | None:
        return _mean(self.abandon_wait, self.abandoned)

    @property
    def average_talk(self) -> float | None:
        return _mean(self.talk, self.handled)

    @property
    def average_handle(self) -> float | None:  # AHT
        return _mean(self.handle, self.handled)


@dataclass(slots=True)
class AgentTally:
    """An agent's counters over some time."""

    offered: int = 0  # offers rung on their phone
    answered: int = 0
    missed: int = 0  # offers not answered (no answer, declined, failed)
    transfers: int = 0
    handled: int = 0
    talk: float = 0.0
    wrapup: float = 0.0
    paused: float = 0.0  # PAUSE to UNPAUSE or LOGOUT (rows written per queue count once)
    busy: float = 0.0  # a call connected or in wrap-up
    available: float = 0.0  # logged in, not paused, not busy
    outbound_placed: int = 0  # their own outside calls dialled
    outbound_connected: int = 0  # ... that the number answered
    outbound_talk: float = 0.0  # connected to the end of their part
    outbound_wrapup: float = 0.0  # wrap-up after an outbound call

    def merge(self, other: AgentTally) -> AgentTally:
        for name in _AGENT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @property
    def average_talk(self) -> float | None:
        return _mean(self.talk, self.handled)

    @property
    def average_handle(self) -> float | None:
        return _mean(self.talk + self.wrapup, self.handled)

    @property
    def occupancy(self) -> float | None:
        return _ratio(self.busy, self.busy + self.available)

    @property
    def average_outbound_talk(self) -> float | None:
        return _mean(self.outbound_talk, self.outbound_connected)


_SUMMED_QUEUE_FIELDS = tuple(f.name for f in fields(QueueTally) if f.name != "longest_wait")
_AGENT_FIELDS = tuple(f.name for f in fields(AgentTally))


@dataclass(slots=True)
class _Desk:
    """What the rows said of an agent so far: the time figures run on it."""

    queues: set[str] = field(default_factory=set)  # real queues logged into
    paused: bool = False
    calls: dict[str, float] = field(default_factory=dict)  # connected calls -> since when
    wrapping: float | None = None  # in wrap-up since when
    since: float | None = None  # time accounted up to
    # The agent's last part that ended (call id, talk, queue), and the one now in wrap-up: a
    # part is handled once its wrap-up ends (docs/figures.md, "handled").
    last_part: tuple[str, float, str | None] | None = None
    wrapping_part: tuple[str, float, str | None] | None = None

    @property
    def busy(self) -> bool:
        return bool(self.calls) or self.wrapping is not None

    def next_expiry(self) -> float | None:
        """When the oldest call or wrap-up stops counting: STATE_LOOKBACK after it began. A
        report reads no talk or wrap-up row older than that before its period, so the live fold
        must forget them at the same age, or the two would disagree on a call whose end row
        was lost (a crash) or that lasts longer than a day."""
        starts = [*self.calls.values(), *([] if self.wrapping is None else [self.wrapping])]
        return min(starts) + STATE_LOOKBACK if starts else None

    def steady_spans(self, since: float, at: float) -> Iterator[tuple[float, float]]:
        """[since, at) cut where a stale call or wrap-up stops counting; the desk is brought to
        each span's state before it is yielded."""
        expiry = self.next_expiry()
        while expiry is not None and expiry < at:
            if expiry > since:
                yield since, expiry
                since = expiry
            for call_id in [c for c, began in self.calls.items()
                            if began + STATE_LOOKBACK <= expiry]:
                del self.calls[call_id]
            if self.wrapping is not None and self.wrapping + STATE_LOOKBACK <= expiry:
                self.wrapping = None
            expiry = self.next_expiry()
        if since < at:
            yield since, at


class Figures:
    """The fold: journal rows in, oldest first, one at a time or in batches (the same), tallies
    out per (queue, bucket) and (agent, bucket). Agents are any hashable key (agent ids live,
    user ids in reports). Rows before `counting_from` only set agents' states (logged in,
    paused, on a call, in wrap-up), so a period starts from the state the rows before it left.
    `keep`: how many recent buckets to keep (the wallboard: today only); None: all (a report).
    """

    def __init__(
        self,
        rules: Mapping[str, QueueRules] | None = None,
        *,
        calendar: Calendar = UTC_DAYS,
        counting_from: float = -math.inf,
        keep: int | None = None,
    ) -> None:
        self.rules: dict[str, QueueRules] = dict(rules or {})
        self.calendar = calendar
        self.counting_from = counting_from
        self.keep = keep
        self.queues: dict[tuple[str, int], QueueTally] = {}
        self.agents: dict[tuple[Hashable, int], AgentTally] = {}
        self._desks: dict[Hashable, _Desk] = {}
        self._latest: int | None = None  # the newest bucket seen

    @property
    def latest(self) -> int | None:
        """The newest bucket a row fell in (the wallboard's "today")."""
        return self._latest

    def rules_of(self, queue: str) -> QueueRules:
        return self.rules.get(queue) or QueueRules()

    # --- reading ----------------------------------------------------------------------------

    def queue(self, queue: str, bucket: int) -> QueueTally:
        """A copy of the queue's tally for the bucket (zero if nothing happened)."""
        return QueueTally().merge(self.queues.get((queue, bucket)) or QueueTally())

    def agent(self, agent: Hashable, bucket: int, now: float | None = None) -> AgentTally:
        """A copy of the agent's tally for the bucket, its time figures run up to `now`."""
        tally = AgentTally().merge(self.agents.get((agent, bucket)) or AgentTally())
        desk = self._desks.get(agent)
        if now is not None and desk is not None and desk.since is not None:
            since, desk = desk.since, replace(desk, calls=dict(desk.calls))  # a read: a copy
            for span_start, span_end in desk.steady_spans(since, now):
                for b, seconds in self._spans(max(span_start, self.counting_from), span_end):
                    if b == bucket:
                        _account(tally, desk, seconds)
        return tally

    def run_until(self, at: float) -> None:
        """Account every agent's time up to `at` (a report's end)."""
        for agent, desk in self._desks.items():
            self._account(agent, desk, at)

    # --- the fold ---------------------------------------------------------------------------

    def add(
        self,
        event: str,
        at: float,
        call_id: str | None,
        queue: str | None,
        agent: Hashable | None,
        data: Mapping[str, Any],
    ) -> None:
        """Fold one journal row (`event`: a JournalEvent or its name)."""
        if event not in EVENTS:
            return  # the rows a report does not read count for nothing live either
        if queue is not None and is_personal_queue(queue):
            queue = None  # the agent's part is theirs; the call was offered where it came from
            if event == E.LOGIN or event == E.LOGOUT:
                return  # being reachable by transfers is not being logged in
        desk = None
        if agent is not None:
            desk = self._agent_row(event, at, call_id, queue, agent, data)
        if at < self.counting_from:
            return
        bucket = self.calendar.bucket(at)
        if self._latest is None or bucket > self._latest:
            self._latest = bucket
            self._forget_old()
        a = None if agent is None else self._agent_tally(agent, bucket)
        q = None if queue is None or event not in _QUEUE_ROWS else self._queue_tally(queue, bucket)
        if data.get("campaign") is not None and event != E.OFFER and event != E.RINGNOANSWER:
            # A campaign's customer: outbound work. Its stay in the campaign's queue is no
            # queue's offer, answer or abandon (the campaign's own figures count it); the
            # agent's part is theirs, as their own outside call's.
            if a is not None:
                _outbound(E.OUTCONNECT if event == E.CONNECT else event, a, data)
        elif data.get("outbound") is True or event in _OUTBOUND_ROWS:
            if a is not None:
                _outbound(event, a, data)
        elif event == E.OFFER:
            if a is not None:
                a.offered += 1
        elif event == E.RINGNOANSWER:
            if a is not None:
                a.missed += 1
        elif event == E.WRAPUPSTART or event == E.WRAPUPEND:
            # The part in wrap-up is not handled yet: its talk and its count leave the tallies
            # at WRAPUPSTART (the same instant, so the same bucket, as its talk end) and come
            # back with its wrap-up at WRAPUPEND. AHT never counts a part without its wrap-up.
            sign = -1 if event == E.WRAPUPSTART else 1
            part = desk.wrapping_part if desk is not None else None
            if event == E.WRAPUPEND:
                seconds = _seconds(data.get("seconds"))
                if q is not None:
                    q.wrapup += seconds
                if a is not None:
                    a.wrapup += seconds
                if desk is not None:
                    desk.wrapping_part = None
            if part is not None and a is not None:
                _, talk, part_queue = part
                a.talk += sign * talk
                a.handled += sign
                if part_queue is not None:
                    pq = self._queue_tally(part_queue, bucket)
                    pq.talk += sign * talk
                    pq.handled += sign
        elif event in _TALK_ENDS or (event == E.TRANSFER and agent is not None):
            talk = _seconds(data.get("talk"))
            if q is not None:
                q.talk += talk
                q.handled += 1
            if a is not None:
                a.talk += talk
                a.handled += 1
                a.transfers += event == E.TRANSFER
        elif event == E.CONNECT:
            if a is not None:
                a.answered += 1
            if q is not None and queue is not None:
                wait = _seconds(data.get("wait"))
                q.answered += 1
                q.answered_within += wait <= self.rules_of(queue).threshold
                q.answer_wait += wait
                q.longest_wait = max(q.longest_wait, wait)
        elif event == E.ENTERQUEUE or event == E.AWAY:
            if q is not None:
                q.offered += 1
            if event == E.AWAY and q is not None and queue is not None:
                self._wait_ended(event, queue, q, data)  # a stay that never reached the app
        elif event == E.CALLBACKQUEUED or event == E.CALLBACKCONNECT or event == E.CALLBACKFAIL:
            if a is not None and event == E.CALLBACKCONNECT:
                a.answered += 1  # the agent's call like any other (their calls today, handled)
            if q is not None:
                if event == E.CALLBACKQUEUED:
                    q.callbacks += not data.get("adopted")  # put back after a restart: no new one
                elif event == E.CALLBACKCONNECT:
                    q.callbacks_connected += 1
                elif data.get("final"):
                    q.callbacks_failed += 1
        elif event == E.CALLBACKREQ:
            if q is not None:
                # The caller's wait ends with a callback in their place: neither answered nor
                # unanswered, and no abandon.
                q.callbacks += 1
                q.longest_wait = max(q.longest_wait, _seconds(data.get("wait")))
        elif q is not None and queue is not None:
            self._wait_ended(event, queue, q, data)

    def _wait_ended(self, event: str, queue: str, q: QueueTally, data: Mapping[str, Any]
                    ) -> None:
        counter = _UNANSWERED.get(event)
        if counter is None:
            return
        rules = self.rules_of(queue)
        wait = _seconds(data.get("wait"))
        setattr(q, counter, getattr(q, counter) + 1)
        q.unanswered += 1
        q.unanswered_within += wait <= rules.threshold
        q.short += wait <= rules.short
        q.longest_wait = max(q.longest_wait, wait)
        if event == E.ABANDON:
            q.abandon_wait += wait
            q.short_abandoned += wait <= rules.short

    def _agent_row(self, event: str, at: float, call_id: str | None, queue: str | None,
                   agent: Hashable, data: Mapping[str, Any]) -> _Desk:
        """Time figures: account the agent's time up to this row, then apply its change."""
        desk = self._desks.get(agent)
        if desk is None:
            desk = self._desks[agent] = _Desk()
        self._account(agent, desk, at)
        if event == E.PAUSE:
            desk.paused = True
        elif event == E.UNPAUSE:
            desk.paused = False
        elif event == E.LOGIN and queue is not None:
            desk.queues.add(queue)
        elif event == E.LOGOUT:
            desk.paused = False  # a pause ends with a logout from any queue
            if queue is None:
                desk.queues.clear()
            else:
                desk.queues.discard(queue)
        elif event in (E.CONNECT, E.CALLBACKDIAL, E.OUTCONNECT) and call_id is not None:
            desk.calls[call_id] = at
        elif event == E.ADOPTED and call_id is not None:
            desk.calls.setdefault(call_id, at)  # a fold that saw the CONNECT keeps its time
        elif (event in _TALK_ENDS or event == E.TRANSFER or event == E.CALLBACKFAIL
              ) and call_id is not None:
            desk.calls.pop(call_id, None)
            if event != E.CALLBACKFAIL and data.get("outbound") is not True:
                desk.last_part = (call_id, _seconds(data.get("talk")), queue)
        elif event == E.WRAPUPSTART:
            desk.wrapping = at
            last = desk.last_part
            outbound = data.get("outbound") is True
            desk.wrapping_part = (last if last is not None and last[0] == call_id
                                  and not outbound else None)
        elif event == E.WRAPUPEND:
            desk.wrapping = None
        return desk

    def _account(self, agent: Hashable, desk: _Desk, at: float) -> None:
        since, desk.since = desk.since, at if desk.since is None else max(desk.since, at)
        if since is None:
            return
        for span_start, span_end in desk.steady_spans(since, at):
            if not (desk.paused or desk.busy or desk.queues):
                continue  # logged out: no time figure runs
            for bucket, seconds in self._spans(max(span_start, self.counting_from), span_end):
                if self.keep is None or self._latest is None or bucket > self._latest - self.keep:
                    _account(self._agent_tally(agent, bucket), desk, seconds)

    def _spans(self, start: float, end: float) -> Iterable[tuple[int, float]]:
        """[start, end) cut at bucket boundaries."""
        cal = self.calendar
        while start < end:
            bucket = cal.bucket(start)
            stop = min(end, cal.start(bucket + 1))
            yield bucket, stop - start
            start = stop

    def _queue_tally(self, queue: str, bucket: int) -> QueueTally:
        tally = self.queues.get((queue, bucket))
        if tally is None:
            tally = self.queues[(queue, bucket)] = QueueTally()
        return tally

    def _agent_tally(self, agent: Hashable, bucket: int) -> AgentTally:
        tally = self.agents.get((agent, bucket))
        if tally is None:
            tally = self.agents[(agent, bucket)] = AgentTally()
        return tally

    def _forget_old(self) -> None:
        if self.keep is None or self._latest is None:
            return
        oldest = self._latest - self.keep + 1
        for key in [key for key in self.queues if key[1] < oldest]:
            del self.queues[key]
        for agent_key in [key for key in self.agents if key[1] < oldest]:
            del self.agents[agent_key]


_OUTBOUND_ROWS = frozenset({E.OUTDIAL, E.OUTCONNECT})


def _outbound(event: str, a: AgentTally, data: Mapping[str, Any]) -> None:
    """A row of an agent's outbound call: their own figures, none of a queue's."""
    if event == E.OUTDIAL:
        a.outbound_placed += 1
    elif event == E.OUTCONNECT:
        a.outbound_connected += 1
    elif event in _TALK_ENDS or event == E.TRANSFER:
        a.outbound_talk += _seconds(data.get("talk"))
    elif event == E.WRAPUPEND:
        a.outbound_wrapup += _seconds(data.get("seconds"))


def _account(tally: AgentTally, desk: _Desk, seconds: float) -> None:
    if desk.paused:
        tally.paused += seconds
    if desk.busy:
        tally.busy += seconds
    elif desk.queues and not desk.paused:
        tally.available += seconds


@dataclass
class CallScores:
    """A queue's or an agent's call quality and evaluation scores over a period (see the table
    above): fed one call's MES and one evaluation at a time."""

    measured: int = 0  # calls with a MES
    mes_total: float = 0.0
    poor: int = 0  # calls measured under the poor bar
    evaluations: int = 0
    evaluation_total: float = 0.0
    failed_evaluations: int = 0

    def add_quality(self, legs_mes: Iterable[float | None], poor_below: float) -> None:
        """One call's legs' average MES; a call none of whose legs has one is not measured."""
        scored = [mes for mes in legs_mes if mes is not None]
        if not scored:
            return
        mes = min(scored)
        self.measured += 1
        self.mes_total += mes
        self.poor += mes < poor_below

    def add_evaluation(self, score: float, failed: bool) -> None:
        self.evaluations += 1
        self.evaluation_total += 0.0 if failed else score
        self.failed_evaluations += failed

    @property
    def average_mes(self) -> float | None:
        mean = _mean(self.mes_total, self.measured)
        return None if mean is None else round(mean, 1)

    @property
    def poor_quality_share(self) -> float | None:
        return _ratio(self.poor, self.measured)

    @property
    def average_evaluation(self) -> float | None:
        mean = _mean(self.evaluation_total, self.evaluations)
        return None if mean is None else round(mean, 1)

    def summary(self) -> dict[str, Any]:
        return {"quality_measured": self.measured, "average_mes": self.average_mes,
                "poor_quality": self.poor, "poor_quality_share": self.poor_quality_share,
                "evaluations": self.evaluations, "average_evaluation": self.average_evaluation,
                "failed_evaluations": self.failed_evaluations}


def _seconds(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None
