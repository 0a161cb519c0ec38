"""Quarter-hour rollups (reports/rollups.py) give the report's figures: a report merged from
stored quarters equals the report folded from the journal over the same period, on the two days
of tests/figures_journal.py and on random journals, however the quarters were rolled (in chunks
of any whole number of quarters, as the live roller and the rebuild command do)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import pytest
from acd_driver import AGENT_IDS, QUEUES, Driver
from figures_journal import DAY1, DAY3, StoredRow, stored, two_days
from figures_journal import QUEUES as FLOOR_QUEUES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_acd_figures_agree import PERSONAL, STEPS, _step

from pbx_stasis.acd import Action, AgentLogin, JournalRow, QueueConfigChanged
from pbx_stasis.acd.figures import QueueRules
from pbx_stasis.reports.core import Report, ReportFold, fold
from pbx_stasis.reports.rollups import (
    QUARTER,
    AgentQuarter,
    QueueQuarter,
    merge_into,
    quarter_ceil,
    quarter_floor,
    roll,
    usable,
)


def rolled(rows: list[StoredRow], start: float, end: float, chunk: int,
           rules: dict[str, QueueRules]) -> tuple[list[QueueQuarter], list[AgentQuarter]]:
    """[start, end) rolled `chunk` quarters at a time, each chunk fed every row (the fold
    keeps what the rows before it say, as reports/store.py's `since_start` reads them)."""
    queues: list[QueueQuarter] = []
    agents: list[AgentQuarter] = []
    at = start
    while at < end:
        until = min(end, at + chunk * QUARTER)
        q, a = roll(rows, at, until, rules)
        queues += q
        agents += a
        at = until
    return queues, agents


def from_rollups(quarters: tuple[list[QueueQuarter], list[AgentQuarter]], start: float,
                 end: float, rules: dict[str, QueueRules]) -> Report:
    folding = ReportFold(start, end, rules)
    queues, agents = quarters
    merge_into(folding, [q for q in queues if start <= q.start < end],
               [a for a in agents if start <= a.start < end])
    return folding.finish()


def same(expected: Report, got: Report) -> None:
    assert sorted(got.queues) == sorted(expected.queues)
    for name, figures in expected.queues.items():
        assert asdict(got.queues[name].tally) == pytest.approx(asdict(figures.tally), abs=1e-6)
    assert sorted(got.agents) == sorted(expected.agents)
    for user_id, agent in expected.agents.items():
        assert asdict(got.agents[user_id].tally) == pytest.approx(asdict(agent.tally), abs=1e-6)
    assert [h.summary() for h in got.hours] == [h.summary() for h in expected.hours]
    assert sorted(got.days) == sorted(expected.days)
    for day, figures in expected.days.items():  # their tallies: the summary's figures
        assert asdict(got.days[day].tally) == pytest.approx(asdict(figures.tally), abs=1e-6)


def test_two_days_from_quarters_as_from_the_journal() -> None:
    rows = [stored(row) for row in two_days().journal()]
    rules = {q.name: QueueRules.of(q) for q in FLOOR_QUEUES}
    for chunk in (1, 7, 96):
        quarters = rolled(rows, DAY1, DAY3, chunk, rules)
        assert usable(quarters[0], rules)
        for start, end in ((DAY1, DAY3), (DAY1, DAY1 + 86400), (DAY1 + 86400, DAY3),
                           (DAY1 + 9.25 * 3600, DAY1 + 11.75 * 3600),
                           (DAY1 + 23 * 3600, DAY1 + 25.5 * 3600)):
            same(fold(rows, start, end, rules), from_rollups(quarters, start, end, rules))


def test_quarters_counted_with_other_rules_are_not_used() -> None:
    rows = [stored(row) for row in two_days().journal()]
    rules = {q.name: QueueRules.of(q) for q in FLOOR_QUEUES}
    queues, _ = roll(rows, DAY1, DAY3, rules)
    changed = {**rules, "sales": QueueRules(45.0)}
    assert usable(queues, rules) and not usable(queues, changed)
    with pytest.raises(ValueError, match="whole quarter"):
        roll(rows, DAY1 + 60, DAY3, rules)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, chunk=st.integers(1, 40), cut=st.integers(0, 200))
def test_random_journals_from_quarters_as_from_the_journal(
    steps: list[tuple[str, int, int]], chunk: int, cut: int
) -> None:
    driver = Driver(seed=0)
    driver.configs[PERSONAL.name] = PERSONAL
    driver.desks["a2"].queues.add(PERSONAL.name)
    journal: list[JournalRow] = []

    def record(actions: list[Action]) -> None:
        journal.extend(a for a in actions if isinstance(a, JournalRow))

    driver.on_step = record
    driver.feed(QueueConfigChanged(PERSONAL))
    driver.feed(AgentLogin("a2", [PERSONAL.name]))
    for agent in range(len(AGENT_IDS)):
        driver.agent(agent, "register", 0)
        driver.agent(agent, "login", 0b1111)
    for step in steps:
        _step(driver, *step)
    driver.drain()
    ids = {agent: n for n, agent in enumerate(AGENT_IDS, start=1)}
    rows = [StoredRow(datetime.fromtimestamp(r.at, UTC), str(r.event), r.call_id, r.queue,
                      None if r.agent_id is None else ids[r.agent_id], dict(r.data))
            for r in journal]
    rules = {q.name: QueueRules.of(q) for q in QUEUES}
    first, last = quarter_floor(journal[0].at), quarter_ceil(journal[-1].at + 1)
    quarters = rolled(rows, first, last, chunk, rules)
    # The whole journal, and a period cut at a random quarter.
    middle = min(last, first + cut * QUARTER)
    for start, end in ((first, last), (first, middle), (middle, last)):
        if start < end:
            same(fold(rows, start, end, rules), from_rollups(quarters, start, end, rules))
