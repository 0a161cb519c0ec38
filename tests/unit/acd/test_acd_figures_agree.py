"""One journal, two paths: the wallboard's live fold (action by action, as AcdService applies
them) and the report (a day's period, streamed in batches) show the same figures, transfers
between agents and queues, short and long abandons and a midnight included."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pytest
from acd_driver import AGENT_IDS, QUEUES, Driver
from figures_journal import DAY1, DAY2, HOUR, USER_IDS, StoredRow, stored, two_days
from figures_journal import QUEUES as FLOOR_QUEUES
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from pbx_stasis.acd import (
    Action,
    AgentLogin,
    JournalRow,
    QueueConfig,
    QueueConfigChanged,
    TransferToQueue,
)
from pbx_stasis.acd.figures import UTC_DAYS, AgentTally, QueueRules, QueueTally
from pbx_stasis.acd.model import personal_queue
from pbx_stasis.acd.stats import Stats
from pbx_stasis.reports.core import Report, ReportFold


class Wallboard:
    """Stats fed action by action; each day's figures read at its last moment."""

    def __init__(self, queues: tuple[QueueConfig, ...], agents: tuple[str, ...]) -> None:
        self.stats = Stats.for_queues(queues)
        self.queue_names = [q.name for q in queues]
        self.agents = agents
        self.days: dict[int, tuple[dict[str, QueueTally], dict[str, AgentTally]]] = {}
        self._day: int | None = None

    def apply(self, when: float, action: Action) -> None:
        day = UTC_DAYS.bucket(action.at if isinstance(action, JournalRow) else when)
        if self._day is not None and day != self._day:
            self.close_day()
        self._day = day
        self.stats.apply(action)

    def close_day(self) -> None:
        assert self._day is not None
        end = UTC_DAYS.start(self._day + 1)
        queues = {q: self.stats.queue(q, end - 0.001).figures for q in self.queue_names}
        agents = {a: self.stats.figures.agent(a, self._day, now=end) for a in self.agents}
        self.days[self._day] = queues, agents


def report(rows: list[StoredRow], day: int, rules: dict[str, QueueRules], batch: int) -> Report:
    """The day's report as /api/reports builds it, the rows streamed `batch` at a time."""
    folding = ReportFold(UTC_DAYS.start(day), UTC_DAYS.start(day + 1), rules)
    for n in range(0, len(rows), batch):
        folding.add(rows[n:n + batch])
    return folding.finish()


def same(live: Any, batch: Any) -> None:
    assert asdict(batch) == pytest.approx(asdict(live), abs=1e-6)


def test_the_wallboard_and_the_report_read_one_journal_alike() -> None:
    floor = two_days()
    board = Wallboard(FLOOR_QUEUES, tuple(USER_IDS))
    for when, action in floor.actions:
        board.apply(when, action)
    board.close_day()
    rows = [stored(row) for row in floor.journal()]
    rules = {q.name: QueueRules.of(q) for q in FLOOR_QUEUES}
    day1, day2 = UTC_DAYS.bucket(DAY1), UTC_DAYS.bucket(DAY2)
    assert sorted(board.days) == [day1, day2]
    for day in (day1, day2):
        reported = report(rows, day, rules, batch=4)
        # The transfer to bob went through his personal queue: no queue of its own anywhere.
        assert set(reported.queues) <= {"sales", "support"}
        live_queues, live_agents = board.days[day]
        for name in reported.queues:
            same(live_queues[name], reported.queues[name].tally)
        assert set(reported.agents) <= {USER_IDS[a] for a in live_agents}
        for agent, tally in live_agents.items():
            got = reported.agents.get(USER_IDS[agent])
            same(tally, got.tally if got is not None else AgentTally())
    assert not [name for name in board.stats.queue_names() if "bob" in name]

    sales, support = (report(rows, day1, rules, batch=1000).queues[q] for q in ("sales", "support"))
    s = sales.tally
    # c1 c2 c3 c4 and c7 (10 s before midnight) entered sales; c1's second stay is bob's.
    assert (s.offered, s.answered, s.abandoned, s.short_abandoned) == (5, 2, 2, 1)
    assert (s.answered_within, s.unanswered, s.short, s.transferred) == (1, 2, 1, 0)
    # Default formula, S = 5 s: c1 within; c2 late; c4 left after 40 s; c3 (3 s) not counted.
    assert sales.service_level == pytest.approx(1 / 3)
    assert s.average_answer_wait == 20.0  # (10 + 30) / 2
    # Alice's two parts, each ended by a transfer, and her two wrap-ups: bob's part is his.
    assert (s.handled, s.talk, s.wrapup, s.average_handle) == (2, 105.0, 20.0, 62.5)
    t = support.tally
    assert (t.offered, t.answered, t.answered_within, t.timed_out) == (3, 2, 1, 1)
    # app_queue's SL2: (c2 within + nobody left within 20 s) / (2 answered + c6 timed out)
    assert support.service_level == pytest.approx(1 / 3)
    board_sales = board.stats.queue("sales", DAY2 - 1)  # nothing: today is day two
    assert board_sales.offered == 0

    day2_report = report(rows, day2, rules, batch=7)
    s2 = day2_report.queues["sales"].tally
    # c7 was offered on day one and answered on day two (25 s: late); c9 left after 8 s.
    assert (s2.offered, s2.answered, s2.answered_within, s2.abandoned, s2.short) == (2, 2, 1, 1, 0)
    assert day2_report.queues["sales"].service_level == pytest.approx(1 / 3)

    agents = report(rows, day1, rules, batch=3).agents
    bob, alice = agents[USER_IDS["bob"]].tally, agents[USER_IDS["alice"]].tally
    assert (bob.offered, bob.answered, bob.handled, bob.talk) == (1, 1, 1, 120.0)
    assert (alice.answered, alice.transfers, alice.handled, alice.talk) == (2, 2, 2, 105.0)
    # Alice talked 60 + 45 s and wrapped up 10 + 10 s, paused 6 min, logged in from 08:00 to
    # midnight: the rest she was available (ringing included).
    assert (alice.busy, alice.paused, alice.available) == (125.0, 360.0, 16 * HOUR - 485.0)
    assert alice.occupancy == pytest.approx(125.0 / (16 * HOUR - 360.0))


# --- random journals ------------------------------------------------------------------------

PERSONAL = QueueConfig(personal_queue("a2"), max_wait=60.0, autopause_after=None)
# Repeats weigh the draw: calls arrive and are answered more often than agents log out.
STEPS = st.lists(
    st.tuples(st.sampled_from(["arrive", "arrive", "answer", "answer", "answer", "refuse",
                               "hang_up", "hang_up", "transfer", "to_agent", "to_agent", "hold",
                               "agent", "tick", "tick", "night"]),
              st.integers(0, 49), st.integers(0, 15)),
    min_size=40, max_size=200,
)


def _step(driver: Driver, what: str, pick: int, n: int) -> None:
    if what == "arrive":
        driver.arrive(n % 4, n % 3, n % 5, None if n % 2 else 45.0)
    elif what == "answer":
        driver.answer(pick)
    elif what == "refuse":
        driver.refuse(pick, fail=n % 3 == 0)
    elif what == "hang_up":
        driver.hang_up(pick, agent_side=n % 2 == 0)
    elif what == "transfer":
        driver.transfer(pick, None if n == 15 else n % 4)
    elif what == "to_agent" and driver.connected:
        call_id = sorted(driver.connected)[pick % len(driver.connected)]
        driver.feed(TransferToQueue(call_id, PERSONAL.name))
    elif what == "hold":
        driver.hold(pick, n % 2 == 0)
    elif what == "agent":
        actions = ("login", "logout", "pause", "unpause", "register", "wrapup-done")
        driver.agent(pick, actions[n % len(actions)], n)
    elif what == "tick":
        driver.tick((0.5, 2.0, 9.0, 31.0)[n % 4])
    elif what == "night":
        driver.tick(5 * 3600.0 + n * 1200)  # hours go by: days turn over


# Found by this test: a call talking for more than a day (STATE_LOOKBACK). A report reads no
# talk row that old before its period, so the live fold stops counting it busy at that age too.
TALK_OVER_A_DAY = [("arrive", 0, 0)] * 32 + [("answer", 0, 0)] + [("night", 0, 0)] * 4 + [
    ("night", 0, 13), ("arrive", 0, 0), ("night", 0, 0)]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, batch=st.integers(1, 50))
@example(steps=TALK_OVER_A_DAY, batch=1)
def test_the_live_fold_and_the_batch_fold_agree_on_random_journals(
    steps: list[tuple[str, int, int]], batch: int
) -> None:
    driver = Driver(seed=0)
    driver.configs[PERSONAL.name] = PERSONAL
    driver.desks["a2"].queues.add(PERSONAL.name)
    board = Wallboard(QUEUES, AGENT_IDS)
    journal: list[JournalRow] = []

    def record(actions: list[Action]) -> None:
        for action in actions:
            board.apply(driver.now, action)
            if isinstance(action, JournalRow):
                journal.append(action)

    driver.on_step = record
    driver.feed(QueueConfigChanged(PERSONAL))
    driver.feed(AgentLogin("a2", [PERSONAL.name]))
    for agent in range(len(AGENT_IDS)):
        driver.agent(agent, "register", 0)
        driver.agent(agent, "login", 0b1111)
    for step in steps:
        _step(driver, *step)
    driver.drain()
    board.close_day()

    ids = {agent: n for n, agent in enumerate(AGENT_IDS, start=1)}
    rows = [StoredRow(datetime.fromtimestamp(r.at, UTC), str(r.event), r.call_id, r.queue,
                      None if r.agent_id is None else ids[r.agent_id], dict(r.data))
            for r in journal]
    rules = {q.name: QueueRules.of(q) for q in QUEUES}
    event(f"{len(board.days)} days")  # --hypothesis-show-statistics: what the journals held
    if any(r.queue == PERSONAL.name and r.event == "CONNECT" for r in journal):
        event("a call transferred to an agent")
    for day, (live_queues, live_agents) in board.days.items():
        reported = report(rows, day, rules, batch)
        assert not [q for q in reported.queues if q == PERSONAL.name]
        for name, tally in live_queues.items():
            same(tally, reported.queues[name].tally if name in reported.queues
                 else QueueTally())
        for agent, agent_tally in live_agents.items():
            got = reported.agents.get(ids[agent])
            same(agent_tally, got.tally if got is not None else AgentTally())

