"""A period's figures, folded from the journal: per queue, per agent, per day and per hour of
the day (UTC).

No IO, no clock: rows in, figures out. The definitions are the live wallboard's (acd/stats.py),
so a day's report agrees with what the wallboard showed at its end:

- offered: callers who entered the queue (ENTERQUEUE); a caller moved to another queue is
  offered again there;
- service level: answered within the queue's threshold / (answered + left after waiting longer
  than it): a caller who hangs up after 3 s does not count against the agents;
- answer wait (ASA) is the wait of answered callers; talk time is CONNECT to the end of the
  conversation (COMPLETECALLER, COMPLETEAGENT or a transfer by the agent); handle time is talk
  plus the wrap-up that followed (WRAPUPEND's actual length, cut short or not).

Pause rows are written once per queue the agent is in (as app_queue does): a pause is the
agent's, whatever the queue, and one still running at the end of the period counts until then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

DEFAULT_THRESHOLD = 20.0


class Row(Protocol):
    """A journal line: a row of reports/store.py's query (or a store.journal.JournalEntry)."""

    @property
    def at(self) -> datetime: ...
    @property
    def event(self) -> str: ...
    @property
    def queue(self) -> str | None: ...
    @property
    def agent_user_id(self) -> int | None: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


@dataclass
class QueueFigures:
    queue: str
    threshold: float
    offered: int = 0
    answered: int = 0
    abandoned: int = 0  # hung up while waiting
    timed_out: int = 0  # max wait reached (EXITWITHTIMEOUT)
    left_empty: int = 0  # no agents left (EXITEMPTY)
    transferred: int = 0  # moved elsewhere while waiting
    answered_within: int = 0
    left_late: int = 0  # left, any way, after the threshold
    answer_wait: float = 0.0
    abandon_wait: float = 0.0
    longest_wait: float = 0.0
    talk: float = 0.0
    talks: int = 0
    wrapup: float = 0.0  # after-call work (WRAPUPEND's actual length)

    @property
    def service_level(self) -> float | None:
        counted = self.answered + self.left_late
        return self.answered_within / counted if counted else None

    def summary(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "timed_out": self.timed_out,
            "left_empty": self.left_empty,
            "transferred": self.transferred,
            "service_level": self.service_level,
            "service_level_seconds": self.threshold,
            "average_answer_wait": _mean(self.answer_wait, self.answered),
            "average_abandon_wait": _mean(self.abandon_wait, self.abandoned),
            "longest_wait": self.longest_wait,
            "average_talk": _mean(self.talk, self.talks),
            "talk": self.talk,
            "average_handle": _mean(self.talk + self.wrapup, self.talks),
        }


@dataclass
class AgentFigures:
    agent_user_id: int
    offered: int = 0  # offers rung on their phone
    answered: int = 0
    missed: int = 0  # offers not answered (no answer, declined, failed)
    transfers: int = 0
    talk: float = 0.0
    talks: int = 0
    wrapup: float = 0.0
    paused: float = 0.0
    pause_started: float | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "agent_user_id": self.agent_user_id,
            "offered": self.offered,
            "answered": self.answered,
            "missed": self.missed,
            "transfers": self.transfers,
            "talk": self.talk,
            "average_talk": _mean(self.talk, self.talks),
            "wrapup": self.wrapup,
            "average_handle": _mean(self.talk + self.wrapup, self.talks),
            "paused": self.paused,
        }


@dataclass
class HourFigures:
    hour: int  # 0-23, UTC
    offered: int = 0
    answered: int = 0
    abandoned: int = 0

    def summary(self) -> dict[str, Any]:
        return {"hour": self.hour, "offered": self.offered, "answered": self.answered,
                "abandoned": self.abandoned}


@dataclass
class DayFigures:
    day: str  # YYYY-MM-DD, UTC
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within: int = 0
    left_late: int = 0

    def summary(self) -> dict[str, Any]:
        counted = self.answered + self.left_late
        return {"day": self.day, "offered": self.offered, "answered": self.answered,
                "abandoned": self.abandoned,
                "service_level": self.answered_within / counted if counted else None}


@dataclass
class Report:
    start: float
    end: float
    queues: dict[str, QueueFigures]
    agents: dict[int, AgentFigures]
    hours: list[HourFigures]
    days: dict[str, DayFigures] = field(default_factory=dict)  # only days with calls


_TALK_ENDS = frozenset({"COMPLETECALLER", "COMPLETEAGENT"})
_LEFT = {"ABANDON": "abandoned", "EXITWITHTIMEOUT": "timed_out", "EXITEMPTY": "left_empty",
         "TRANSFER": "transferred"}
# The journal rows the fold reads (a caller may skip the others: IVR steps, holds, wrap-ups...).
EVENTS = frozenset({"ENTERQUEUE", "OFFER", "RINGNOANSWER", "CONNECT", "WRAPUPEND", "PAUSE",
                    "UNPAUSE", "LOGOUT", *_TALK_ENDS, *_LEFT})


def fold(
    rows: Iterable[Row], start: float, end: float, thresholds: Mapping[str, float] | None = None
) -> Report:
    """The figures of [start, end) from its journal rows, oldest first: ReportFold in one go."""
    folding = ReportFold(start, end, thresholds)
    folding.add(rows)
    return folding.finish()


class ReportFold:
    """The figures of [start, end), fed its journal rows oldest first, in batches (a long period
    streams from the database); rows outside the period are skipped, times are aware datetimes.
    `thresholds`: each queue's service level in seconds. A pause still running counts until
    `end`: pass the present for a period not over yet."""

    def __init__(
        self, start: float, end: float, thresholds: Mapping[str, float] | None = None
    ) -> None:
        self._limits = dict(thresholds or {})
        self.report = Report(start, end, {}, {}, [HourFigures(h) for h in range(24)])

    def _queue(self, name: str) -> QueueFigures:
        queues = self.report.queues
        if name not in queues:
            queues[name] = QueueFigures(name, self._limits.get(name, DEFAULT_THRESHOLD))
        return queues[name]

    def _day(self, at: float) -> DayFigures:
        name = datetime.fromtimestamp(at - at % 86400, UTC).date().isoformat()
        days = self.report.days
        if name not in days:
            days[name] = DayFigures(name)
        return days[name]

    def _agent(self, user_id: int) -> AgentFigures:
        agents = self.report.agents
        if user_id not in agents:
            agents[user_id] = AgentFigures(user_id)
        return agents[user_id]

    def add(self, rows: Iterable[Row]) -> None:
        start, end, hours = self.report.start, self.report.end, self.report.hours
        for row in rows:
            at = row.at.timestamp()
            if not start <= at < end:
                continue
            event = row.event
            a = self._agent(row.agent_user_id) if row.agent_user_id is not None else None
            if event == "PAUSE" and a is not None:
                if a.pause_started is None:
                    a.pause_started = at
                continue
            if event in ("UNPAUSE", "LOGOUT") and a is not None:
                if a.pause_started is not None:
                    a.paused += at - a.pause_started
                    a.pause_started = None
                continue
            if row.queue is None:
                continue
            q = self._queue(row.queue)
            hour = hours[int(at // 3600) % 24]  # the UTC hour
            if event == "ENTERQUEUE":
                q.offered += 1
                hour.offered += 1
                self._day(at).offered += 1
            elif event == "OFFER" and a is not None:
                a.offered += 1
            elif event == "RINGNOANSWER" and a is not None:
                a.missed += 1
            elif event == "CONNECT":
                wait = _seconds(row.data.get("wait"))
                q.answered += 1
                q.answer_wait += wait
                q.answered_within += wait <= q.threshold
                q.longest_wait = max(q.longest_wait, wait)
                hour.answered += 1
                day = self._day(at)
                day.answered += 1
                day.answered_within += wait <= q.threshold
                if a is not None:
                    a.answered += 1
            elif event == "WRAPUPEND":
                wrapup = _seconds(row.data.get("seconds"))
                q.wrapup += wrapup
                if a is not None:
                    a.wrapup += wrapup
            elif event in _TALK_ENDS or (event == "TRANSFER" and a is not None):
                talk = _seconds(row.data.get("talk"))
                q.talk += talk
                q.talks += 1
                if a is not None:
                    a.talk += talk
                    a.talks += 1
                    a.transfers += event == "TRANSFER"
            elif event in _LEFT:  # a waiting caller left without an agent
                wait = _seconds(row.data.get("wait"))
                setattr(q, _LEFT[event], getattr(q, _LEFT[event]) + 1)
                q.left_late += wait > q.threshold
                q.longest_wait = max(q.longest_wait, wait)
                day = self._day(at)
                day.left_late += wait > q.threshold
                if event == "ABANDON":
                    q.abandon_wait += wait
                    hour.abandoned += 1
                    day.abandoned += 1

    def finish(self) -> Report:
        for a in self.report.agents.values():
            if a.pause_started is not None:
                a.paused += self.report.end - a.pause_started
                a.pause_started = None
        return self.report


def _seconds(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None
