"""A period's figures, per queue, per agent, per day and per hour of the day (UTC): the journal
rows of the period folded by acd/figures.py, the wallboard's fold, so a day's report agrees with
what the wallboard showed at its end (the definitions are written there and in docs/figures.md).

No IO, no clock: rows in, figures out. The fold buckets by UTC hour; a report merges the
buckets into its tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from pbx_stasis.acd.figures import (
    EVENTS,
    HOUR,
    STATE_EVENTS,
    AgentTally,
    Calendar,
    Figures,
    JournalLine,
    QueueRules,
    QueueTally,
    state_group,
)
from pbx_stasis.acd.model import ServiceLevelMode

__all__ = ["EVENTS", "STATE_EVENTS", "Report", "ReportFold", "Row", "fold"]

# Days and hours add up every queue: their service level takes the default formula.
_ACROSS_QUEUES = ServiceLevelMode.WITHOUT_SHORT_ABANDONS


# A journal line: a row of reports/store.py's query (or a store.journal.JournalEntry).
Row = JournalLine


@dataclass
class QueueFigures:
    queue: str
    rules: QueueRules = field(default_factory=QueueRules)
    tally: QueueTally = field(default_factory=QueueTally)

    @property
    def service_level(self) -> float | None:
        return self.tally.service_level(self.rules.mode)

    def summary(self) -> dict[str, Any]:
        t = self.tally
        return {
            "queue": self.queue,
            "offered": t.offered,
            "answered": t.answered,
            "abandoned": t.abandoned,
            "timed_out": t.timed_out,
            "left_empty": t.left_empty,
            "transferred": t.transferred,
            "away": t.away,
            "service_level": self.service_level,
            "service_level_seconds": self.rules.threshold,
            "average_answer_wait": t.average_answer_wait,
            "average_abandon_wait": t.average_abandon_wait,
            "longest_wait": t.longest_wait,
            "average_talk": t.average_talk,
            "talk": t.talk,
            "average_handle": t.average_handle,
            "short_abandoned": t.short_abandoned,
            "service_level_mode": self.rules.mode.value,
            # Callbacks count apart: a caller who asked for one is no abandon (figures.py).
            "callbacks": t.callbacks,
            "callbacks_connected": t.callbacks_connected,
            "callbacks_failed": t.callbacks_failed,
        }


@dataclass
class AgentFigures:
    agent_user_id: int
    tally: AgentTally = field(default_factory=AgentTally)

    @property
    def paused(self) -> float:
        return self.tally.paused

    def summary(self) -> dict[str, Any]:
        t = self.tally
        return {
            "agent_user_id": self.agent_user_id,
            "offered": t.offered,
            "answered": t.answered,
            "missed": t.missed,
            "transfers": t.transfers,
            "talk": t.talk,
            "average_talk": t.average_talk,
            "wrapup": t.wrapup,
            "average_handle": t.average_handle,
            "paused": t.paused,
            "occupancy": t.occupancy,
            "outbound_placed": t.outbound_placed,
            "outbound_connected": t.outbound_connected,
            "outbound_talk": t.outbound_talk,
            "average_outbound_talk": t.average_outbound_talk,
        }


class _Counts:
    tally: QueueTally

    @property
    def offered(self) -> int:
        return self.tally.offered

    @property
    def answered(self) -> int:
        return self.tally.answered

    @property
    def abandoned(self) -> int:
        return self.tally.abandoned


@dataclass
class HourFigures(_Counts):
    hour: int  # 0-23, in the report's time zone
    tally: QueueTally = field(default_factory=QueueTally)

    def summary(self) -> dict[str, Any]:
        t = self.tally
        return {"hour": self.hour, "offered": t.offered, "answered": t.answered,
                "abandoned": t.abandoned}


@dataclass
class DayFigures(_Counts):
    day: str  # YYYY-MM-DD, UTC
    tally: QueueTally = field(default_factory=QueueTally)

    def summary(self) -> dict[str, Any]:
        t = self.tally
        return {"day": self.day, "offered": t.offered, "answered": t.answered,
                "abandoned": t.abandoned, "service_level": t.service_level(_ACROSS_QUEUES)}


@dataclass
class Report:
    start: float
    end: float
    queues: dict[str, QueueFigures]
    agents: dict[int, AgentFigures]
    hours: list[HourFigures]
    days: dict[str, DayFigures] = field(default_factory=dict)  # only days with calls


def fold(
    rows: Iterable[Row],
    start: float,
    end: float,
    rules: Mapping[str, QueueRules | float] | None = None,
) -> Report:
    """The figures of [start, end) from its journal rows, oldest first: ReportFold in one go."""
    folding = ReportFold(start, end, rules)
    folding.add(rows)
    return folding.finish()


def zone_hours(at: float, zone: tzinfo) -> Calendar:
    """Hours as `zone` cuts them around `at` (its offset's part below an hour)."""
    offset = datetime.fromtimestamp(at, zone).utcoffset() or timedelta()
    return Calendar(HOUR, offset.total_seconds() % HOUR)


class ReportFold:
    """The figures of [start, end), fed its journal rows oldest first, in batches (a long period
    streams from the database); times are aware datetimes. Rows before `start` only say what
    each agent was doing when the period began (logged in, paused, on a call, in wrap-up: the
    last row of each `state_group`, which is what reports/store.py reads); rows from `end` on
    are skipped. `rules`: each queue's service level settings (or just its
    threshold in seconds). Time figures (pauses, occupancy) run until `end`: pass the present
    for a period not over yet."""

    def __init__(
        self, start: float, end: float, rules: Mapping[str, QueueRules | float] | None = None,
        *, zone: tzinfo = UTC, calendar: Calendar | None = None,
    ) -> None:
        self.start, self.end = start, end
        self.zone = zone
        self.rules = {name: r if isinstance(r, QueueRules) else QueueRules(float(r))
                      for name, r in (rules or {}).items()}
        # Hours of the zone (a zone half an hour off UTC, India, cuts them at :30), or finer
        # buckets (reports/rollups.py folds by quarter hour): the report merges them into the
        # zone's hours and days.
        self.calendar = calendar or zone_hours(start, zone)
        self.figures = Figures(self.rules, calendar=self.calendar, counting_from=start)
        self._before: dict[Hashable, Row] = {}

    def add(self, rows: Iterable[Row]) -> None:
        add, start, end = self.figures.add, self.start, self.end
        for row in rows:
            at = row.at.timestamp()
            if at >= end:
                continue
            if at < start:
                group = state_group(row.event, at, start, row.queue, row.agent_user_id,
                                    row.call_id)
                if group is not None:
                    self._before.pop(group, None)  # the last of each group, in order
                    self._before[group] = row
                continue
            if self._before:
                self._begin()
            add(row.event, at, row.call_id, row.queue, row.agent_user_id, row.data or {})

    def _begin(self) -> None:
        """The agents' states as the period began, from the last row of each group before it."""
        for row in self._before.values():
            self.figures.add(row.event, row.at.timestamp(), row.call_id, row.queue,
                             row.agent_user_id, row.data or {})
        self._before.clear()

    def tallies(self) -> Figures:
        """The fold's tallies by bucket, the agents' time run until the period's end."""
        self._begin()
        self.figures.run_until(self.end)
        return self.figures

    def add_tallies(self, queues: Iterable[tuple[str, float, QueueTally]],
                    agents: Iterable[tuple[int, float, AgentTally]]) -> None:
        """Tallies folded elsewhere (stored quarter hours, a part of the period folded apart),
        each with the start of the time it covers, which must lie within one of this fold's
        buckets: merged as if this fold had counted them."""
        figures = self.figures
        bucket = figures.calendar.bucket
        for queue, at, tally in queues:
            key = (queue, bucket(at))
            figures.queues.setdefault(key, QueueTally()).merge(tally)
        for agent, at, agent_tally in agents:
            agent_key = (agent, bucket(at))
            figures.agents.setdefault(agent_key, AgentTally()).merge(agent_tally)

    def finish(self) -> Report:
        figures = self.tallies()
        start_of = figures.calendar.start
        report = Report(self.start, self.end, {}, {}, [HourFigures(h) for h in range(24)])
        for (queue, bucket), tally in sorted(figures.queues.items(), key=_by_time):
            if queue not in report.queues:
                report.queues[queue] = QueueFigures(queue, figures.rules_of(queue))
            report.queues[queue].tally.merge(tally)
            local = datetime.fromtimestamp(start_of(bucket), self.zone)
            report.hours[local.hour].tally.merge(tally)
            if tally.offered or tally.answered or tally.unanswered:  # only days with calls
                day = local.date().isoformat()
                report.days.setdefault(day, DayFigures(day)).tally.merge(tally)
        for (agent, _), agent_tally in figures.agents.items():
            user_id = _user_id(agent)
            if user_id not in report.agents:
                report.agents[user_id] = AgentFigures(user_id)
            report.agents[user_id].tally.merge(agent_tally)
        return report


def _by_time(item: tuple[tuple[str, int], QueueTally]) -> tuple[int, str]:
    (queue, bucket), _ = item
    return bucket, queue


def _user_id(agent: Hashable) -> int:
    assert isinstance(agent, int)
    return agent
