"""Quarter-hour rollups: each queue's and each agent's tally per 15 minutes, so a month's report
merges ~3,000 stored quarters per queue instead of folding a million journal lines.

A quarter is the report fold itself (reports/core.py `ReportFold` over acd/figures.py), run over
a span of whole quarters with a quarter-hour calendar: the agents' states at the span's start
come from the rows before it, exactly as a report's do, so merging quarters gives the figures a
report over the same span folds (tests/unit/reports/test_rollups.py checks it on random
journals). No IO here; reports/rollup_store.py stores and reads them.

A queue's quarter keeps the rules its answered-within and short counts used (threshold T,
short abandon S): a report whose queue settings differ since folds that queue's period from the
journal instead (`usable`), until `pbx reports rollup --rebuild` rolls them again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pbx_stasis.acd.figures import AgentTally, Calendar, QueueRules, QueueTally
from pbx_stasis.reports.core import ReportFold, Row

QUARTER = 900.0
QUARTERS = Calendar(QUARTER)


@dataclass(frozen=True)
class QueueQuarter:
    start: float  # epoch seconds, a multiple of QUARTER
    queue: str
    threshold: float  # the rules its counts used
    short: float
    tally: QueueTally


@dataclass(frozen=True)
class AgentQuarter:
    start: float
    agent_user_id: int
    tally: AgentTally


def quarter_floor(at: float) -> float:
    return math.floor(at / QUARTER) * QUARTER


def quarter_ceil(at: float) -> float:
    return math.ceil(at / QUARTER) * QUARTER


def roll(rows: Iterable[Row], start: float, end: float,
         rules: Mapping[str, QueueRules] | None = None
         ) -> tuple[list[QueueQuarter], list[AgentQuarter]]:
    """The quarters of [start, end) (quarter boundaries) from the span's journal rows, oldest
    first, led by the rows that say what each agent was doing at `start` (reports/store.py's
    `since_start`)."""
    if start != quarter_floor(start) or end != quarter_floor(end):
        raise ValueError("a rollup covers whole quarter hours")
    folding = ReportFold(start, end, rules, calendar=QUARTERS)
    folding.add(rows)
    return quarters_of(folding)


def quarters_of(folding: ReportFold) -> tuple[list[QueueQuarter], list[AgentQuarter]]:
    """What a fold over whole quarters (calendar QUARTERS) counted, quarter by quarter."""
    figures = folding.tallies()
    queues = [QueueQuarter(QUARTERS.start(bucket), queue, figures.rules_of(queue).threshold,
                           figures.rules_of(queue).short, tally)
              for (queue, bucket), tally in figures.queues.items()]
    agents = [AgentQuarter(QUARTERS.start(bucket), _user_id(agent), tally)
              for (agent, bucket), tally in figures.agents.items()]
    return queues, agents


def usable(quarters: Iterable[QueueQuarter], rules: Mapping[str, QueueRules]) -> bool:
    """True when every queue quarter was counted with the rules a report now applies."""
    default = QueueRules()
    for quarter in quarters:
        now = rules.get(quarter.queue, default)
        if (quarter.threshold, quarter.short) != (now.threshold, now.short):
            return False
    return True


def merge_into(folding: ReportFold, queues: Iterable[QueueQuarter],
               agents: Iterable[AgentQuarter]) -> None:
    """Stored quarters into a report's fold, as if it had counted their rows."""
    folding.add_tallies(((q.queue, q.start, q.tally) for q in queues),
                        ((a.agent_user_id, a.start, a.tally) for a in agents))


def _user_id(agent: object) -> int:
    assert isinstance(agent, int)
    return agent
